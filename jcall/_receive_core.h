/* The receive path and playout in plain C: jcall/media/receive.py (RTP filter:
 * jcall/rtp/receiver.py; RFC 3550 statistics: jcall/rtp/stats.py; L16 decoding) and
 * jcall/media/playout.py, which are the reference, over the C jitter buffer
 * (_jitter_core.h). Run by jcall/_deviceclock.c inside a sound device's callback, so
 * that a period in a call with L16 at the device's own format enters no Python.
 *
 * Payload types jcall decodes but this does not (another rate or codec) are filtered
 * and counted here, then handed back (RECEIVE_DECODE) for Python to decode and push.
 * No Python here; one thread at a time, except the seqlocked last frame played. */
#ifndef JCALL_RECEIVE_CORE_H
#define JCALL_RECEIVE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "_jitter_core.h"

enum { PT_NONE = 0, PT_ELSEWHERE = 1, PT_HERE = 2 }; /* per payload type: who decodes */
enum { RECEIVE_DROPPED = 0, RECEIVE_PUSHED = 1, RECEIVE_DECODE = 2 };

typedef struct {
    unsigned long long malformed, wrong_payload_type, foreign_ssrc, accepted, ssrc_changes;
    unsigned long long packets, bytes;
    double jitter; /* RFC 3550 J, in timestamp units */
    long long expected;
    int has_ssrc;
    uint32_t ssrc;
} ReceiveCounts;

typedef struct {
    int payload_type;
    uint32_t timestamp;
    const uint8_t *payload;
    ptrdiff_t length;
} Undecoded;

typedef struct ReceiveCore ReceiveCore;

/* ``kinds``: PT_* for each of the 128 payload types; NULL when out of memory. The
 * jitter buffer stays the caller's. */
ReceiveCore *receive_new(JitterCore *jitter, int rate, int channels, ptrdiff_t frame,
                         const unsigned char kinds[128]);
void receive_free(ReceiveCore *r);

/* ReceivePath.take: RECEIVE_PUSHED when decoded and pushed here, RECEIVE_DECODE when
 * accepted but for Python to decode (``*rest`` says what), else RECEIVE_DROPPED; -1
 * when out of memory. */
int receive_take(ReceiveCore *r, const uint8_t *data, ptrdiff_t length, double arrival,
                 Undecoded *rest);
/* Playout.pull: at least ``n`` frames decided at ``due``, whole jitter-buffer frames,
 * into ``*out`` (owned here, valid until the next call); the count, or -1 when out of
 * memory. */
ptrdiff_t receive_pull(ReceiveCore *r, ptrdiff_t n, double due, const int16_t **out);

void receive_counts(const ReceiveCore *r, ReceiveCounts *out);
/* The time of the first RTP taken / of the first received sample played; < 0 before. */
double receive_first_arrival(const ReceiveCore *r);
double receive_first_played(const ReceiveCore *r);
/* A copy of the last frames pulled (the output level meter), from any thread; the
 * count of samples (all channels) written, at most ``room``. */
ptrdiff_t receive_last_played(ReceiveCore *r, int16_t *to, ptrdiff_t room);

#endif
