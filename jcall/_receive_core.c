/* The receive path and playout in plain C; see _receive_core.h. Names follow the
 * reference: jcall/media/receive.py, jcall/rtp/receiver.py, jcall/rtp/stats.py,
 * jcall/media/playout.py. */
#include "_receive_core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SSRC_SWITCH_PACKETS 3 /* receiver.py */
#define RTP_HEADER 12
#define LAST_FRAMES 4096 /* the level meter looks at most at this many frames */

typedef ptrdiff_t isize;

struct ReceiveCore {
    JitterCore *jitter;
    int rate, ch;
    isize frame;
    unsigned char kinds[128];
    /* RtpFilter */
    int has_ssrc, has_newcomer;
    uint32_t ssrc, newcomer;
    int newcomer_run;
    unsigned long long malformed, wrong_payload_type, foreign_ssrc, accepted, ssrc_changes;
    /* ReceivePath: the SSRC of the packets pushed last */
    int has_pushed;
    uint32_t pushed;
    double first_arrival;
    /* ReceiveStats */
    unsigned long long packets, bytes;
    double jitter_j;
    int seq_known, has_base, has_transit;
    int64_t seq_last, base_seq, max_seq;
    double transit;
    long long expected_before;
    /* decoding */
    int16_t *pcm;
    isize pcm_cap;
    /* Playout */
    int started;
    double first_played;
    int16_t *out;
    isize out_cap;
    int16_t *last;           /* the last frames pulled (the level meter) */
    isize last_len;          /* samples, all channels */
    unsigned int last_seq;   /* odd while `last` is being written (a seqlock) */
};

ReceiveCore *receive_new(JitterCore *jitter, int rate, int channels, ptrdiff_t frame,
                         const unsigned char kinds[128]) {
    ReceiveCore *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->jitter = jitter;
    r->rate = rate;
    r->ch = channels;
    r->frame = frame;
    memcpy(r->kinds, kinds, 128);
    r->first_arrival = r->first_played = -1.0;
    /* (never reallocated: another thread may be reading it) */
    r->last = calloc((size_t)(LAST_FRAMES * channels), sizeof(int16_t));
    if (r->last == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

void receive_free(ReceiveCore *r) {
    if (r == NULL)
        return;
    free(r->pcm);
    free(r->out);
    free(r->last);
    free(r);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* RtpPacket.parse; 0 when malformed */
static int parse(const uint8_t *data, isize length, int *pt, uint16_t *seq, uint32_t *ts,
                 uint32_t *ssrc, isize *offset, isize *end) {
    if (length < RTP_HEADER || data[0] >> 6 != 2)
        return 0;
    *pt = data[1] & 0x7F;
    *seq = get16(data + 2);
    *ts = get32(data + 4);
    *ssrc = get32(data + 8);
    isize at = RTP_HEADER + 4 * (data[0] & 0x0F);
    if (length < at)
        return 0;
    if (data[0] & 0x10) { /* header extension (RFC 3550 section 5.3.1): skipped */
        if (length < at + 4)
            return 0;
        at += 4 + 4 * get16(data + at + 2);
        if (length < at)
            return 0;
    }
    isize stop = length;
    if (data[0] & 0x20) { /* padding: the last octet counts the padding octets */
        int pad = data[length - 1];
        if (pad == 0 || at + pad > stop)
            return 0;
        stop -= pad;
    }
    *offset = at;
    *end = stop;
    return 1;
}

/* RtpFilter.accept after parsing: whether the packet is the peer's current source's */
static int accept_ssrc(ReceiveCore *r, uint32_t ssrc) {
    if (!r->has_ssrc) {
        r->has_ssrc = 1;
        r->ssrc = ssrc;
    } else if (ssrc != r->ssrc) {
        if (r->has_newcomer && ssrc == r->newcomer) {
            r->newcomer_run++;
        } else {
            r->has_newcomer = 1;
            r->newcomer = ssrc;
            r->newcomer_run = 1;
        }
        if (r->newcomer_run < SSRC_SWITCH_PACKETS) {
            r->foreign_ssrc++;
            return 0;
        }
        r->ssrc = ssrc;
        r->ssrc_changes++;
    }
    r->has_newcomer = 0;
    r->newcomer_run = 0;
    r->accepted++;
    return 1;
}

static void stats_new_source(ReceiveCore *r) {
    ReceiveCounts now;
    receive_counts(r, &now);
    r->expected_before = now.expected;
    r->seq_known = r->has_base = r->has_transit = 0;
    r->max_seq = 0;
}

/* ReceiveStats.update */
static void stats_update(ReceiveCore *r, uint16_t sequence, uint32_t timestamp,
                         double arrival, isize size) {
    r->packets++;
    r->bytes += (unsigned long long)size;
    int64_t ext;
    if (!r->seq_known) { /* seqnum.py's Unwrapper, 16 bits */
        r->seq_known = 1;
        ext = r->seq_last = sequence;
    } else {
        int64_t d = (((int64_t)sequence - r->seq_last) % 65536 + 65536) % 65536;
        if (d >= 32768)
            d -= 65536;
        ext = r->seq_last + d;
        if (d > 0)
            r->seq_last = ext;
    }
    if (!r->has_base) {
        r->has_base = 1;
        r->base_seq = r->max_seq = ext;
    }
    if (ext > r->max_seq)
        r->max_seq = ext;
    double transit = arrival * (double)r->rate - (double)timestamp;
    if (r->has_transit) {
        double d = transit - r->transit;
        if (fabs(d) > 2147483648.0) /* the timestamps' wrap, not jitter */
            d -= d > 0 ? 4294967296.0 : -4294967296.0;
        r->jitter_j += (fabs(d) - r->jitter_j) / 16.0;
    }
    r->has_transit = 1;
    r->transit = transit;
}

int receive_take(ReceiveCore *r, const uint8_t *data, ptrdiff_t length, double arrival,
                 Undecoded *rest) {
    int pt;
    uint16_t seq;
    uint32_t ts, ssrc;
    isize offset, end;
    if (!parse(data, length, &pt, &seq, &ts, &ssrc, &offset, &end)) {
        r->malformed++;
        return RECEIVE_DROPPED;
    }
    if (r->kinds[pt] == PT_NONE) {
        r->wrong_payload_type++;
        return RECEIVE_DROPPED;
    }
    if (!accept_ssrc(r, ssrc))
        return RECEIVE_DROPPED;
    if (!r->has_pushed || ssrc != r->pushed) {
        if (r->has_pushed) { /* the peer's new source */
            stats_new_source(r);
            jitter_new_source(r->jitter);
        }
        r->has_pushed = 1;
        r->pushed = ssrc;
    }
    stats_update(r, seq, ts, arrival, length);
    if (r->first_arrival < 0)
        r->first_arrival = arrival;
    if (r->kinds[pt] == PT_ELSEWHERE) {
        *rest = (Undecoded){.payload_type = pt, .timestamp = ts, .payload = data + offset,
                            .length = end - offset};
        return RECEIVE_DECODE;
    }
    /* L16 (RFC 3551 section 4.5.11): network byte order, whole frames only */
    isize frames = (end - offset) / (2 * r->ch);
    if (frames * r->ch > r->pcm_cap) {
        int16_t *more = realloc(r->pcm, (size_t)(frames * r->ch) * sizeof(int16_t));
        if (more == NULL)
            return -1;
        r->pcm = more;
        r->pcm_cap = frames * r->ch;
    }
    const uint8_t *p = data + offset;
    for (isize i = 0; i < frames * r->ch; i++)
        r->pcm[i] = (int16_t)get16(p + 2 * i);
    if (jitter_push(r->jitter, ts, r->pcm, frames, arrival) < 0)
        return -1;
    return RECEIVE_PUSHED;
}

ptrdiff_t receive_pull(ReceiveCore *r, ptrdiff_t n, double due, const int16_t **out) {
    isize ch = r->ch, frame = r->frame;
    isize total = (n + frame - 1) / frame * frame;
    if (total < frame)
        total = frame;
    if (total * ch > r->out_cap) {
        int16_t *more = realloc(r->out, (size_t)(total * ch) * sizeof(int16_t));
        if (more == NULL)
            return -1;
        r->out = more;
        r->out_cap = total * ch;
    }
    isize have = 0;
    while (have < n || have == 0) {
        const int16_t *pcm;
        isize got = jitter_pop(r->jitter, due, n, &pcm);
        if (got < 0)
            return -1;
        if (got == 0) {
            memset(r->out + have * ch, 0, (size_t)(frame * ch) * sizeof(int16_t));
            got = frame;
        } else {
            if (!r->started) {
                r->started = 1;
                r->first_played = due + (double)have / (double)r->rate;
            }
            memcpy(r->out + have * ch, pcm, (size_t)(got * ch) * sizeof(int16_t));
        }
        have += got;
    }
    __atomic_add_fetch(&r->last_seq, 1, __ATOMIC_ACQ_REL);
    r->last_len = (have < LAST_FRAMES ? have : LAST_FRAMES) * ch;
    memcpy(r->last, r->out, (size_t)r->last_len * sizeof(int16_t));
    __atomic_add_fetch(&r->last_seq, 1, __ATOMIC_ACQ_REL);
    *out = r->out;
    return have;
}

ptrdiff_t receive_last_played(ReceiveCore *r, int16_t *to, ptrdiff_t room) {
    for (;;) { /* the audio thread may be writing it: read again until unchanged */
        unsigned int before = __atomic_load_n(&r->last_seq, __ATOMIC_ACQUIRE);
        if (before & 1)
            continue;
        isize n = r->last_len < room ? r->last_len : room;
        if (n > 0)
            memcpy(to, r->last, (size_t)n * sizeof(int16_t));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&r->last_seq, __ATOMIC_ACQUIRE) == before)
            return n;
    }
}

void receive_counts(const ReceiveCore *r, ReceiveCounts *out) {
    *out = (ReceiveCounts){
        .malformed = r->malformed, .wrong_payload_type = r->wrong_payload_type,
        .foreign_ssrc = r->foreign_ssrc, .accepted = r->accepted,
        .ssrc_changes = r->ssrc_changes, .packets = r->packets, .bytes = r->bytes,
        .jitter = r->jitter_j, .has_ssrc = r->has_ssrc, .ssrc = r->ssrc,
        .expected = r->expected_before
            + (r->has_base ? (long long)(r->max_seq - r->base_seq + 1) : 0)};
}

double receive_first_arrival(const ReceiveCore *r) { return r->first_arrival; }
double receive_first_played(const ReceiveCore *r) { return r->first_played; }
