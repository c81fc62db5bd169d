/* jcall._deviceclock: a sound device's duplex callback, in C, that enters Python only
 * once per packet.
 *
 * Why native: a PortAudio duplex stream at 48 kHz with 256-frame periods calls back
 * ~190 times a second. Through sounddevice's Python callback every period pays for
 * taking the GIL, wrapping both buffers as numpy arrays and running Python from cold
 * caches, whether or not there is a packet to send or a frame to decide; that alone is
 * the CPU of a bare Python-callback stream. Here the period's copying (captured
 * samples into a buffer, samples to play out of a ring) is plain C, and Python's
 * tick is called only when a whole packet has been captured or the ring cannot fill
 * the period: about once per 10 ms, where the media's decisions are (jcall/media/).
 * No policy lives here: what to send and what to play is the tick's.
 *
 * For the commonest call (L16 at the device's own rate and channels, the format jcall
 * prefers with devices) it also sends each packet itself the moment it is captured
 * (``send_l16``): the payload is the captured samples in network byte order behind an
 * RTP header (RFC 3550 section 5.1, RFC 3551 section 4.5.11), continuing the
 * sequence number and timestamp the media's packetizer hands over. The tick is then
 * called only for playout.
 *
 * Where the device plays L16 at its own rate and channels it can also run the receive
 * path and playout (``receive_l16``; jcall/_receive_core.c over the C jitter buffer):
 * once the event loop has handed the socket over (``own_socket``), a period that needs
 * samples reads the socket, pushes the peer's RTP and pulls playout here, and enters
 * Python only for what ``report`` is for (STUN, payloads decoded there, news).
 *
 * The behaviour is jcall/audio/deviceclock.py's FrameClock, which is the reference
 * (and the fallback where this extension was not built); tests run both.
 *
 * Threads: PortAudio calls ``period`` from its audio thread. The buffers are touched
 * only there (and by ``period()`` called from Python in tests, never both). The tick
 * is read and called with the GIL held; ``live`` says, without the GIL, whether there
 * is one.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "_numeric_address.h"
#include "_receive_core.h"
#include "_stamped.h"

#define ASIDE 32          /* datagrams a period can hand to Python */
#define REPORT_S 0.1      /* how often the media is said to arrive (consent.py) */

/* A datagram the native receiver hands to Python: STUN or another source's
 * (``source`` set), or an accepted packet's payload for Python to decode. */
typedef struct {
    double arrival;
    struct sockaddr_storage source;
    socklen_t source_len; /* 0: a payload to decode */
    int payload_type;
    uint32_t timestamp;
    Py_ssize_t length;
    unsigned char data[MAX_DATAGRAM];
} Aside;

/* PortAudio's callback types (portaudio.h), declared here so that building needs no
 * PortAudio headers: sounddevice loads the library at run time. */
typedef struct {
    double inputBufferAdcTime, currentTime, outputBufferDacTime;
} PaStreamCallbackTimeInfo;
typedef unsigned long PaStreamCallbackFlags;
enum { paInputUnderflow = 1, paInputOverflow = 2, paOutputUnderflow = 4,
       paOutputOverflow = 8 };
enum { paContinue = 0 };

typedef struct {
    PyObject_HEAD
    int ch_in, ch_out;
    Py_ssize_t frame;   /* device frames per packet: captured audio goes out in these */
    Py_ssize_t startup; /* frames from the start whose xruns are start-up's */
    int16_t *cap;       /* captured, not yet handed to the tick (linear) */
    Py_ssize_t cap_size, cap_len;
    int16_t *play;      /* to play (a ring of frames) */
    Py_ssize_t play_size, play_head, play_len;
    PyObject *tick;
    int live;
    /* the native sender (send_l16), or fd -1 */
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint8_t payload_type;
    int marked; /* the first packet carries the marker bit (RFC 3551 section 4.1) */
    uint16_t sequence;
    uint32_t timestamp, ssrc;
    int muted;  /* silence is sent instead of the captured samples */
    unsigned char *packet;
    int16_t *last;          /* the last frame sent, for the level meter */
    unsigned int last_seq;  /* odd while `last` is being written (a seqlock) */
    unsigned long long sent_packets, sent_bytes, send_errors;
    int send_errno;
    unsigned long long callbacks, frames, in_xruns, in_startup, out_xruns, out_startup;
    unsigned long long dropped, failures;
    /* the native receiver (receive_l16): the receive path and playout, run here once
     * the socket is the callback's (own_socket) */
    ReceiveCore *rx;
    PyObject *jitter; /* the jcall._jitter.JitterBuffer whose core rx pushes into */
    PyObject *report;
    int owns;         /* the callback reads rfd itself */
    int rfd;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    Aside *aside;
    int naside;
    unsigned long long aside_dropped;
    double last_arrival, reported_arrival, reported_at;
    int told_first_arrival, told_first_played;
} Clock;

static void count(Clock *c, Py_ssize_t n, PaStreamCallbackFlags flags) {
    int in = (flags & (paInputUnderflow | paInputOverflow)) != 0;
    int out = (flags & (paOutputUnderflow | paOutputOverflow)) != 0;
    int early = (Py_ssize_t)c->frames < c->startup;
    c->callbacks++;
    if (in) {
        if (early)
            c->in_startup++;
        else
            c->in_xruns++;
    }
    if (out) {
        if (early)
            c->out_startup++;
        else
            c->out_xruns++;
    }
    c->frames += (unsigned long long)n;
}

static void capture(Clock *c, const int16_t *in, Py_ssize_t n) {
    if (in == NULL)
        return;
    if (n > c->cap_size) { /* (a period longer than the buffer: keep its end) */
        c->dropped += (unsigned long long)(n - c->cap_size);
        in += (n - c->cap_size) * c->ch_in;
        n = c->cap_size;
    }
    if (c->cap_len + n > c->cap_size) { /* the tick fell behind: the oldest go */
        Py_ssize_t drop = c->cap_len + n - c->cap_size;
        c->dropped += (unsigned long long)drop;
        memmove(c->cap, c->cap + drop * c->ch_in,
                (size_t)((c->cap_len - drop) * c->ch_in) * sizeof(int16_t));
        c->cap_len -= drop;
    }
    memcpy(c->cap + c->cap_len * c->ch_in, in, (size_t)(n * c->ch_in) * sizeof(int16_t));
    c->cap_len += n;
}

static void queue_play(Clock *c, const int16_t *pcm, Py_ssize_t n) {
    Py_ssize_t room = c->play_size - c->play_len;
    if (n > room) {
        c->dropped += (unsigned long long)(n - room);
        n = room;
    }
    Py_ssize_t tail = (c->play_head + c->play_len) % c->play_size;
    Py_ssize_t first = n < c->play_size - tail ? n : c->play_size - tail;
    memcpy(c->play + tail * c->ch_out, pcm, (size_t)(first * c->ch_out) * sizeof(int16_t));
    memcpy(c->play, pcm + first * c->ch_out,
           (size_t)((n - first) * c->ch_out) * sizeof(int16_t));
    c->play_len += n;
}

static void play(Clock *c, int16_t *out, Py_ssize_t n) {
    if (out == NULL)
        return;
    Py_ssize_t have = n < c->play_len ? n : c->play_len;
    Py_ssize_t first = have < c->play_size - c->play_head ? have : c->play_size - c->play_head;
    memcpy(out, c->play + c->play_head * c->ch_out,
           (size_t)(first * c->ch_out) * sizeof(int16_t));
    memcpy(out + first * c->ch_out, c->play,
           (size_t)((have - first) * c->ch_out) * sizeof(int16_t));
    memset(out + have * c->ch_out, 0, (size_t)((n - have) * c->ch_out) * sizeof(int16_t));
    c->play_head = (c->play_head + have) % c->play_size;
    c->play_len -= have;
}

/* Call the tick with the whole packets captured and what the ring lacks for this
 * period; queue what it returns. The GIL is held. */
static void call_tick(Clock *c, Py_ssize_t whole, Py_ssize_t short_) {
    if (c->tick == NULL)
        return;
    PyObject *captured = PyBytes_FromStringAndSize(
        (const char *)c->cap, whole * c->ch_in * (Py_ssize_t)sizeof(int16_t));
    if (captured == NULL) {
        c->failures++;
        PyErr_Clear();
        return;
    }
    c->cap_len -= whole;
    memmove(c->cap, c->cap + whole * c->ch_in,
            (size_t)(c->cap_len * c->ch_in) * sizeof(int16_t));
    PyObject *result = PyObject_CallFunction(c->tick, "Nn", captured, short_);
    if (result == NULL) { /* the tick catches its own errors: this is a last resort */
        c->failures++;
        PyErr_Clear();
        return;
    }
    Py_buffer buf;
    if (PyObject_GetBuffer(result, &buf, PyBUF_SIMPLE) == 0) {
        Py_ssize_t frame_bytes = c->ch_out * (Py_ssize_t)sizeof(int16_t);
        queue_play(c, (const int16_t *)buf.buf, buf.len / frame_bytes);
        PyBuffer_Release(&buf);
    } else {
        c->failures++;
        PyErr_Clear();
    }
    Py_DECREF(result);
}

static void put16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v) {
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* Send the whole packets captured, each as soon as it is complete. */
static void send_captured(Clock *c) {
    Py_ssize_t samples = c->frame * c->ch_in;
    int muted = __atomic_load_n(&c->muted, __ATOMIC_RELAXED);
    while (c->cap_len >= c->frame) {
        unsigned char *p = c->packet;
        p[0] = 0x80; /* version 2, no padding, no extension, no CSRC */
        p[1] = (unsigned char)((c->marked ? 0 : 0x80) | c->payload_type);
        put16(p + 2, c->sequence);
        put32(p + 4, c->timestamp);
        put32(p + 8, c->ssrc);
        __atomic_add_fetch(&c->last_seq, 1, __ATOMIC_ACQ_REL);
        for (Py_ssize_t i = 0; i < samples; i++) {
            int16_t v = muted ? 0 : c->cap[i];
            c->last[i] = v;
            put16(p + 12 + 2 * i, (uint16_t)v);
        }
        __atomic_add_fetch(&c->last_seq, 1, __ATOMIC_ACQ_REL);
        ssize_t sent = sendto(c->fd, p, (size_t)(12 + 2 * samples), 0,
                              (struct sockaddr *)&c->addr, c->addrlen);
        if (sent < 0) {
            c->send_errors++;
            c->send_errno = errno;
        } else {
            c->sent_packets++;
            c->sent_bytes += (unsigned long long)sent;
        }
        c->marked = 1;
        c->sequence++;
        c->timestamp += (uint32_t)c->frame;
        c->cap_len -= c->frame;
        memmove(c->cap, c->cap + samples, (size_t)(c->cap_len * c->ch_in) * sizeof(int16_t));
    }
}

/* Take the GIL in the audio thread. Its Python thread state is made once and kept
 * (PyGILState_Ensure is never undone): made and freed every period, as a balanced
 * Ensure/Release does, the state is new each time and the Python that runs on it
 * starts cold -- that cost more than the periods saved. cffi keeps its callbacks'
 * thread states the same way. */
static void enter_python(void) {
    PyThreadState *state = PyGILState_GetThisThreadState();
    if (state == NULL)
        (void)PyGILState_Ensure();
    else
        PyEval_RestoreThread(state);
}

static void set_aside(Clock *c, double arrival, const struct sockaddr_storage *source,
                      socklen_t source_len, int payload_type, uint32_t timestamp,
                      const unsigned char *data, Py_ssize_t length) {
    if (c->naside == ASIDE) {
        c->aside_dropped++;
        return;
    }
    Aside *a = &c->aside[c->naside++];
    a->arrival = arrival;
    if (source_len > 0)
        memcpy(&a->source, source, source_len);
    a->source_len = source_len;
    a->payload_type = payload_type;
    a->timestamp = timestamp;
    a->length = length;
    memcpy(a->data, data, (size_t)length);
}

/* Every datagram waiting on the socket, with the kernel's arrival time (as
 * jcall/_datagrams.c): the peer's RTP through the receive path, the rest set aside
 * for Python. */
static void receive_socket(Clock *c) {
    double offset = stamp_offset();
    for (;;) {
        unsigned char data[MAX_DATAGRAM];
        struct sockaddr_storage from;
        socklen_t from_len;
        double arrival;
        ssize_t got = receive_stamped(c->rfd, data, sizeof data, &from, &from_len, offset,
                                      &arrival);
        if (got < 0)
            return; /* nothing more waiting (or an error the next period sees again) */
        int peers = from_len == c->peer_len && memcmp(&from, &c->peer, c->peer_len) == 0;
        if (got > 0 && (data[0] & 0xC0) == 0x80 && peers) {
            Undecoded rest;
            int taken = receive_take(c->rx, data, got, arrival, &rest);
            if (taken == RECEIVE_DECODE)
                set_aside(c, arrival, NULL, 0, rest.payload_type, rest.timestamp,
                          rest.payload, rest.length);
            else if (taken < 0)
                c->failures++;
            c->last_arrival = arrival;
        } else { /* STUN, or another source's (Python knows which may be media) */
            set_aside(c, arrival, &from, from_len, -1, 0, data, got);
        }
    }
}

/* Whether Python is to hear from the receiver this period: datagrams set aside, the
 * first packet or the first sample played, or that media still arrives. */
static int news(Clock *c, double now) {
    return c->naside > 0
        || (!c->told_first_arrival && receive_first_arrival(c->rx) >= 0)
        || (!c->told_first_played && receive_first_played(c->rx) >= 0)
        || (c->last_arrival > c->reported_arrival && now - c->reported_at >= REPORT_S);
}

/* Call report(aside, last_arrival): the GIL is held. */
static void call_report(Clock *c, double now) {
    PyObject *items = PyList_New(c->naside);
    for (int i = 0; items != NULL && i < c->naside; i++) {
        Aside *a = &c->aside[i];
        PyObject *source;
        if (a->source_len > 0) {
            char host[INET6_ADDRSTRLEN];
            int port;
            address_text(&a->source, host, &port);
            source = Py_BuildValue("(si)", host, port);
        } else {
            source = Py_NewRef(Py_None);
        }
        PyObject *item = source == NULL ? NULL
            : Py_BuildValue("(dy#NiI)", a->arrival, a->data, a->length, source,
                            a->payload_type, a->timestamp);
        if (item == NULL) {
            Py_CLEAR(items);
            break;
        }
        PyList_SET_ITEM(items, i, item);
    }
    c->naside = 0;
    c->told_first_arrival = receive_first_arrival(c->rx) >= 0;
    c->told_first_played = receive_first_played(c->rx) >= 0;
    c->reported_arrival = c->last_arrival;
    c->reported_at = now;
    PyObject *result = items == NULL ? NULL
        : PyObject_CallFunction(c->report, "Nd", items, c->last_arrival);
    if (result == NULL) {
        c->failures++;
        PyErr_Clear();
    }
    Py_XDECREF(result);
}

/* The period's playout from the native receiver: ``n`` frames queued. */
static void pull(Clock *c, Py_ssize_t n, double now) {
    const int16_t *pcm;
    Py_ssize_t got = receive_pull(c->rx, n, now, &pcm);
    if (got < 0) {
        c->failures++;
        return;
    }
    queue_play(c, pcm, got);
}

/* One device period: what the stream's callback does. */
static void period(Clock *c, const int16_t *in, int16_t *out, Py_ssize_t n,
                   PaStreamCallbackFlags flags, int have_gil) {
    count(c, n, flags);
    if (!__atomic_load_n(&c->live, __ATOMIC_ACQUIRE)) {
        if (out != NULL)
            memset(out, 0, (size_t)(n * c->ch_out) * sizeof(int16_t));
        return;
    }
    capture(c, in, n);
    if (c->fd >= 0)
        send_captured(c);
    Py_ssize_t whole = c->cap_len / c->frame * c->frame;
    Py_ssize_t short_ = out != NULL && c->play_len < n ? n - c->play_len : 0;
    int native = short_ > 0 && __atomic_load_n(&c->owns, __ATOMIC_ACQUIRE);
    double now = 0.0;
    int tell = 0;
    if (native) { /* the receive path and playout, here */
        receive_socket(c);
        now = monotonic_now(); /* (after: a packet read must not seem to come after it) */
        tell = news(c, now);
    }
    if (whole > 0 || (short_ > 0 && !native) || tell) {
        if (!have_gil)
            enter_python();
        if (tell) /* (first: what Python decodes is pushed before the pull) */
            call_report(c, now);
        if (whole > 0 || !native)
            call_tick(c, whole, native ? 0 : short_);
        if (!have_gil)
            PyEval_SaveThread();
    }
    if (native)
        pull(c, short_, now);
    play(c, out, n);
}

static int stream_callback(const void *input, void *output, unsigned long frames,
                           const PaStreamCallbackTimeInfo *when,
                           PaStreamCallbackFlags flags, void *userdata) {
    (void)when;
    period((Clock *)userdata, (const int16_t *)input, (int16_t *)output,
           (Py_ssize_t)frames, flags, 0);
    return paContinue;
}

static int clock_init(Clock *c, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"channels_in", "channels_out", "frame", "capacity", "startup",
                             NULL};
    int ch_in, ch_out;
    Py_ssize_t frame, capacity, startup;
    if (c->cap != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "DeviceClock already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iinnn", kwlist, &ch_in, &ch_out, &frame,
                                     &capacity, &startup))
        return -1;
    if (ch_in < 1 || ch_out < 1 || ch_in > 64 || ch_out > 64 || frame < 1 ||
        capacity < frame || capacity > (1 << 22)) {
        PyErr_SetString(PyExc_ValueError, "channels 1..64, 1 <= frame <= capacity <= 2**22");
        return -1;
    }
    c->cap = calloc((size_t)(capacity * ch_in), sizeof(int16_t));
    c->play = calloc((size_t)(capacity * ch_out), sizeof(int16_t));
    if (c->cap == NULL || c->play == NULL) {
        free(c->cap);
        free(c->play);
        c->cap = c->play = NULL;
        PyErr_NoMemory();
        return -1;
    }
    c->ch_in = ch_in;
    c->ch_out = ch_out;
    c->frame = frame;
    c->cap_size = c->play_size = capacity;
    c->startup = startup;
    c->fd = -1;
    return 0;
}

PyDoc_STRVAR(start_doc,
"start(tick)\n--\n\n"
"From now on, call ``tick(captured, short) -> bytes`` in a period where a whole packet\n"
"was captured or the samples queued to play do not fill it (see FrameClock).");

static PyObject *clock_start(Clock *c, PyObject *tick) {
    if (!PyCallable_Check(tick)) {
        PyErr_SetString(PyExc_TypeError, "tick must be callable");
        return NULL;
    }
    Py_INCREF(tick);
    Py_XSETREF(c->tick, tick);
    __atomic_store_n(&c->live, 1, __ATOMIC_RELEASE);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(send_l16_doc,
"send_l16(fd, host, port, payload_type, ssrc, sequence, timestamp)\n--\n\n"
"Send each captured packet from here, as L16 RTP on the UDP socket ``fd`` to the\n"
"numeric address (host, port), numbering from ``sequence`` and ``timestamp``. Only\n"
"before start(); the socket must stay open while the stream runs.");

static PyObject *clock_send_l16(Clock *c, PyObject *args) {
    int fd, port, payload_type;
    const char *host;
    unsigned long ssrc, timestamp;
    unsigned int sequence;
    if (!PyArg_ParseTuple(args, "isiikIk", &fd, &host, &port, &payload_type, &ssrc,
                          &sequence, &timestamp))
        return NULL;
    if (__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) || c->cap == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "send_l16() comes before start()");
        return NULL;
    }
    if (payload_type < 0 || payload_type > 127 || c->frame * c->ch_in > 4096) {
        PyErr_SetString(PyExc_ValueError, "payload type 0..127, packets of 4096 samples");
        return NULL;
    }
    struct sockaddr_storage addr;
    socklen_t addrlen;
    if (numeric_address(host, port, &addr, &addrlen) < 0)
        return NULL;
    unsigned char *packet = malloc((size_t)(12 + 2 * c->frame * c->ch_in));
    int16_t *last = calloc((size_t)(c->frame * c->ch_in), sizeof(int16_t));
    if (packet == NULL || last == NULL) {
        free(packet);
        free(last);
        return PyErr_NoMemory();
    }
    c->addr = addr;
    c->addrlen = addrlen;
    free(c->packet);
    free(c->last);
    c->packet = packet;
    c->last = last;
    c->payload_type = (uint8_t)payload_type;
    c->ssrc = (uint32_t)ssrc;
    c->sequence = (uint16_t)sequence;
    c->timestamp = (uint32_t)timestamp;
    c->fd = fd;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(sent_doc,
"sent() -> (packets, bytes, errors, last_errno)\n--\n\n"
"What the native sender sent, its sends that failed and the errno of the last one.");

static PyObject *clock_sent(Clock *c, PyObject *Py_UNUSED(ignored)) {
    return Py_BuildValue("(KKKi)", c->sent_packets, c->sent_bytes, c->send_errors,
                         c->send_errno);
}

PyDoc_STRVAR(last_sent_doc,
"last_sent() -> bytes\n--\n\n"
"The samples of the last packet the native sender sent (interleaved int16; empty\n"
"before the first).");

static PyObject *clock_last_sent(Clock *c, PyObject *Py_UNUSED(ignored)) {
    if (c->last == NULL || c->sent_packets + c->send_errors == 0)
        return PyBytes_FromStringAndSize(NULL, 0);
    Py_ssize_t size = c->frame * c->ch_in * (Py_ssize_t)sizeof(int16_t);
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL)
        return NULL;
    for (;;) { /* the audio thread may be writing it: read again until unchanged */
        unsigned int before = __atomic_load_n(&c->last_seq, __ATOMIC_ACQUIRE);
        if (before & 1)
            continue;
        memcpy(PyBytes_AS_STRING(out), c->last, (size_t)size);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&c->last_seq, __ATOMIC_ACQUIRE) == before)
            return out;
    }
}

PyDoc_STRVAR(receive_l16_doc,
"receive_l16(jitter, kinds, rate, channels, frame, report)\n--\n\n"
"Run the receive path and playout here (jcall/media/receive.py and playout.py, in C),\n"
"pushing into ``jitter`` (a jcall._jitter.JitterBuffer of ``frame``-frame frames) at\n"
"``rate`` and ``channels``, which are the device's. ``kinds``: 128 bytes, one per\n"
"payload type: 0 not negotiated, 1 decoded by Python, 2 L16 decoded here. Once\n"
"own_socket() was called, a period reads the socket and plays without Python; it calls\n"
"``report(aside, last_arrival)`` only with datagrams set aside (as (arrival, data,\n"
"source, payload_type, timestamp): STUN or another source's with its source, or a\n"
"payload for Python to decode, source None), when the first packet came or the first\n"
"sample played, or every 100 ms while media arrives. Only before start().");

static PyObject *clock_receive_l16(Clock *c, PyObject *args) {
    PyObject *jitter, *report;
    Py_buffer kinds;
    int rate, channels;
    Py_ssize_t frame;
    if (!PyArg_ParseTuple(args, "Oy*iinO", &jitter, &kinds, &rate, &channels, &frame,
                          &report))
        return NULL;
    unsigned char kind[128];
    int fine = kinds.len == 128;
    if (fine)
        memcpy(kind, kinds.buf, 128);
    PyBuffer_Release(&kinds);
    if (!fine || channels != c->ch_out || !PyCallable_Check(report)) {
        PyErr_SetString(PyExc_ValueError,
                        "128 kinds, the device's output channels, a callable report");
        return NULL;
    }
    if (__atomic_load_n(&c->live, __ATOMIC_ACQUIRE) || c->cap == NULL || c->rx != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "receive_l16() comes once, before start()");
        return NULL;
    }
    PyObject *capsule = PyObject_CallMethod(jitter, "core", NULL);
    if (capsule == NULL)
        return NULL;
    JitterCore *core = PyCapsule_GetPointer(capsule, "jcall._jitter.core");
    Py_DECREF(capsule);
    if (core == NULL)
        return NULL;
    c->aside = malloc(ASIDE * sizeof(Aside));
    c->rx = receive_new(core, rate, channels, frame, kind);
    if (c->aside == NULL || c->rx == NULL) {
        free(c->aside);
        receive_free(c->rx);
        c->aside = NULL;
        c->rx = NULL;
        return PyErr_NoMemory();
    }
    Py_INCREF(jitter);
    Py_INCREF(report);
    c->jitter = jitter;
    c->report = report;
    Py_RETURN_NONE;
}

static int has_receiver(Clock *c) {
    if (c->rx == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "no receive_l16()");
        return 0;
    }
    return 1;
}

PyDoc_STRVAR(own_socket_doc,
"own_socket(fd, host, port)\n--\n\n"
"From the next period on, read the UDP socket ``fd`` here: RTP from the numeric\n"
"address (host, port) goes through the receive path, the rest to ``report``.");

static PyObject *clock_own_socket(Clock *c, PyObject *args) {
    int fd, port;
    const char *host;
    if (!PyArg_ParseTuple(args, "isi", &fd, &host, &port) || !has_receiver(c))
        return NULL;
    if (__atomic_load_n(&c->owns, __ATOMIC_ACQUIRE)) {
        PyErr_SetString(PyExc_RuntimeError, "the socket is already owned");
        return NULL;
    }
    if (numeric_address(host, port, &c->peer, &c->peer_len) < 0)
        return NULL;
    c->rfd = fd;
    __atomic_store_n(&c->owns, 1, __ATOMIC_RELEASE);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(take_doc,
"take(data, arrival) -> tuple[int, int, bytes] | None\n--\n\n"
"One datagram through the receive path (ReceivePath.take); (payload_type, timestamp,\n"
"payload) when it was accepted for Python to decode and push.");

static PyObject *clock_take(Clock *c, PyObject *args) {
    Py_buffer data;
    double arrival;
    if (!PyArg_ParseTuple(args, "y*d", &data, &arrival))
        return NULL;
    if (!has_receiver(c)) {
        PyBuffer_Release(&data);
        return NULL;
    }
    Undecoded rest;
    int taken = receive_take(c->rx, data.buf, data.len, arrival, &rest);
    PyObject *out;
    if (taken < 0)
        out = PyErr_NoMemory();
    else if (taken == RECEIVE_DECODE)
        out = Py_BuildValue("(iIy#)", rest.payload_type, rest.timestamp,
                            (const char *)rest.payload, rest.length);
    else
        out = Py_NewRef(Py_None);
    PyBuffer_Release(&data);
    return out;
}

PyDoc_STRVAR(pull_doc,
"pull(n, due) -> bytes\n--\n\n"
"Playout.pull: at least ``n`` frames, whole jitter-buffer frames, decided at ``due``.");

static PyObject *clock_pull(Clock *c, PyObject *args) {
    Py_ssize_t n;
    double due;
    if (!PyArg_ParseTuple(args, "nd", &n, &due) || !has_receiver(c))
        return NULL;
    const int16_t *pcm;
    Py_ssize_t got = receive_pull(c->rx, n, due, &pcm);
    if (got < 0)
        return PyErr_NoMemory();
    return PyBytes_FromStringAndSize((const char *)pcm,
                                     got * c->ch_out * (Py_ssize_t)sizeof(int16_t));
}

PyDoc_STRVAR(received_doc,
"received() -> dict\n--\n\n"
"The receive path's counters (RtpFilter's and ReceiveStats'), the times of the first\n"
"packet taken and the first sample played (None before), and datagrams that found\n"
"no room to be set aside.");

static PyObject *maybe_time(double t) {
    return t < 0 ? Py_NewRef(Py_None) : PyFloat_FromDouble(t);
}

static PyObject *clock_received(Clock *c, PyObject *Py_UNUSED(ignored)) {
    if (!has_receiver(c))
        return NULL;
    ReceiveCounts r;
    receive_counts(c->rx, &r);
    PyObject *ssrc = r.has_ssrc ? PyLong_FromUnsignedLong(r.ssrc) : Py_NewRef(Py_None);
    return Py_BuildValue("{sKsKsKsKsKsKsKsdsLsNsNsNsK}", "malformed", r.malformed,
                         "wrong_payload_type", r.wrong_payload_type, "foreign_ssrc",
                         r.foreign_ssrc, "accepted", r.accepted, "ssrc_changes",
                         r.ssrc_changes, "packets", r.packets, "bytes", r.bytes, "jitter",
                         r.jitter, "expected", r.expected, "ssrc", ssrc, "first_arrival",
                         maybe_time(receive_first_arrival(c->rx)), "first_played",
                         maybe_time(receive_first_played(c->rx)), "aside_dropped",
                         c->aside_dropped);
}

static PyObject *clock_last_played(Clock *c, PyObject *Py_UNUSED(ignored)) {
    if (!has_receiver(c))
        return NULL;
    Py_ssize_t room = 4096 * c->ch_out;
    int16_t *copy = malloc((size_t)room * sizeof(int16_t));
    if (copy == NULL)
        return PyErr_NoMemory();
    Py_ssize_t n = receive_last_played(c->rx, copy, room);
    PyObject *out = PyBytes_FromStringAndSize((const char *)copy,
                                              n * (Py_ssize_t)sizeof(int16_t));
    free(copy);
    return out;
}

static PyObject *clock_get_muted(Clock *c, void *Py_UNUSED(closure)) {
    return PyBool_FromLong(__atomic_load_n(&c->muted, __ATOMIC_RELAXED));
}

static int clock_set_muted(Clock *c, PyObject *value, void *Py_UNUSED(closure)) {
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "muted cannot be deleted");
        return -1;
    }
    int truth = PyObject_IsTrue(value);
    if (truth < 0)
        return -1;
    __atomic_store_n(&c->muted, truth, __ATOMIC_RELAXED);
    return 0;
}

PyDoc_STRVAR(period_doc,
"period(captured, frames, status=0) -> bytes\n--\n\n"
"Run one period by hand (tests): ``captured`` is ``frames`` interleaved int16 frames,\n"
"``status`` PortAudio's callback flags; returns what the device would play.");

static PyObject *clock_period(Clock *c, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t frames;
    unsigned long status = 0;
    if (!PyArg_ParseTuple(args, "y*n|k", &buf, &frames, &status))
        return NULL;
    if (frames < 0 || buf.len != frames * c->ch_in * (Py_ssize_t)sizeof(int16_t)) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "captured must hold `frames` frames");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(
        NULL, frames * c->ch_out * (Py_ssize_t)sizeof(int16_t));
    if (out != NULL)
        period(c, (const int16_t *)buf.buf, (int16_t *)PyBytes_AS_STRING(out), frames, status,
               1);
    PyBuffer_Release(&buf);
    return out;
}

PyDoc_STRVAR(counters_doc,
"counters() -> dict\n--\n\n"
"Periods and frames so far, input and output xruns (after start-up, and during it),\n"
"samples dropped for want of room, and ticks that raised.");

static PyObject *clock_counters(Clock *c, PyObject *Py_UNUSED(ignored)) {
    return Py_BuildValue("{sKsKsKsKsKsKsKsK}", "callbacks", c->callbacks, "frames",
                         c->frames, "input_xruns", c->in_xruns, "input_startup_xruns",
                         c->in_startup, "output_xruns", c->out_xruns, "output_startup_xruns",
                         c->out_startup, "dropped", c->dropped, "failures", c->failures);
}

static PyObject *clock_address(Clock *c, void *Py_UNUSED(closure)) {
    return PyLong_FromVoidPtr(c);
}

static int clock_traverse(Clock *c, visitproc visit, void *arg) {
    Py_VISIT(c->tick);
    Py_VISIT(c->report);
    Py_VISIT(c->jitter);
    return 0;
}

static int clock_clear(Clock *c) {
    __atomic_store_n(&c->live, 0, __ATOMIC_RELEASE);
    Py_CLEAR(c->tick);
    Py_CLEAR(c->report);
    return 0; /* (the jitter buffer goes with the receiver, in dealloc) */
}

static void clock_dealloc(Clock *c) {
    PyObject_GC_UnTrack(c);
    clock_clear(c);
    free(c->cap);
    free(c->play);
    free(c->packet);
    free(c->last);
    receive_free(c->rx);
    free(c->aside);
    Py_CLEAR(c->jitter);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static PyMethodDef clock_methods[] = {
    {"start", (PyCFunction)clock_start, METH_O, start_doc},
    {"period", (PyCFunction)clock_period, METH_VARARGS, period_doc},
    {"counters", (PyCFunction)clock_counters, METH_NOARGS, counters_doc},
    {"send_l16", (PyCFunction)clock_send_l16, METH_VARARGS, send_l16_doc},
    {"sent", (PyCFunction)clock_sent, METH_NOARGS, sent_doc},
    {"last_sent", (PyCFunction)clock_last_sent, METH_NOARGS, last_sent_doc},
    {"receive_l16", (PyCFunction)clock_receive_l16, METH_VARARGS, receive_l16_doc},
    {"own_socket", (PyCFunction)clock_own_socket, METH_VARARGS, own_socket_doc},
    {"take", (PyCFunction)clock_take, METH_VARARGS, take_doc},
    {"pull", (PyCFunction)clock_pull, METH_VARARGS, pull_doc},
    {"received", (PyCFunction)clock_received, METH_NOARGS, received_doc},
    {"last_played", (PyCFunction)clock_last_played, METH_NOARGS,
     "The samples of the last frames pulled (interleaved int16)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef clock_getset[] = {
    {"muted", (getter)clock_get_muted, (setter)clock_set_muted,
     "Whether the native sender sends silence instead of what was captured.", NULL},
    {"address", (getter)clock_address, NULL,
     "This object's address: the stream callback's user data (keep the object alive "
     "while the stream runs).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(clock_doc,
"DeviceClock(channels_in, channels_out, frame, capacity, startup)\n--\n\n"
"A duplex stream's callback state: ``callback_address()`` with ``address`` as its\n"
"user data. ``frame``: device frames per packet; ``capacity``: frames each buffer\n"
"holds; ``startup``: frames whose xruns count as start-up's.");

static PyTypeObject ClockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jcall._deviceclock.DeviceClock",
    .tp_basicsize = sizeof(Clock),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = clock_doc,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)clock_init,
    .tp_dealloc = (destructor)clock_dealloc,
    .tp_traverse = (traverseproc)clock_traverse,
    .tp_clear = (inquiry)clock_clear,
    .tp_methods = clock_methods,
    .tp_getset = clock_getset,
};

PyDoc_STRVAR(callback_address_doc,
"callback_address() -> int\n--\n\n"
"The address of the PortAudio stream callback (a PaStreamCallback).");

static PyObject *callback_address(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromVoidPtr((void *)stream_callback);
}

static PyMethodDef module_methods[] = {
    {"callback_address", callback_address, METH_NOARGS, callback_address_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef clock_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_deviceclock",
    .m_doc = "A duplex sound stream's callback that enters Python once per packet.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__deviceclock(void) {
    if (PyType_Ready(&ClockType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&clock_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&ClockType);
    if (PyModule_AddObject(m, "DeviceClock", (PyObject *)&ClockType) < 0) {
        Py_DECREF(&ClockType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
