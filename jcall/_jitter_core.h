/* The jitter buffer and its concealment in plain C: jcall/rtp/jitterbuffer.py and
 * jcall/audio/plc.py, which are the reference (their docstrings say what it does and
 * why; this file follows them step by step, with the same arithmetic in the same
 * order, so that both give the same samples: tests/unit/rtp/test_jitter_native.py).
 *
 * No Python here: jcall/_jitter.c wraps it as a Python type, and jcall/_deviceclock.c
 * runs it inside a sound device's callback. Not thread-safe: one thread at a time. */
#ifndef JCALL_JITTER_CORE_H
#define JCALL_JITTER_CORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    long long received, duplicates, late, concealed_samples, accelerated_samples,
        expanded_samples, underruns, restarts;
} JitterCounts;

typedef struct JitterCore JitterCore;

/* NULL when out of memory. */
JitterCore *jitter_new(int rate, int channels, ptrdiff_t frame, double floor_s,
                       double max_s, double hold_s);
void jitter_free(JitterCore *j);

void jitter_new_source(JitterCore *j);
/* ``n`` interleaved frames of ``pcm``; -1 when out of memory (nothing kept). */
int jitter_push(JitterCore *j, uint32_t timestamp, const int16_t *pcm, ptrdiff_t n,
                double arrival);
/* The next frame to play at ``now`` (see JitterBuffer.pop): its length in frames
 * (written to ``*out``, a buffer this owns, valid until the next call), 0 while
 * waiting for the first packet, -1 when out of memory. */
ptrdiff_t jitter_pop(JitterCore *j, double now, ptrdiff_t span, const int16_t **out);

const JitterCounts *jitter_counts(const JitterCore *j);
int jitter_playing(const JitterCore *j);
double jitter_level_s(const JitterCore *j);
double jitter_target_s(const JitterCore *j);
double jitter_quantum_s(const JitterCore *j);
/* 1 and the settled continuous slack in *slack, or 0 (None) before there is one */
int jitter_settled_slack_s(const JitterCore *j, double *slack);
double jitter_tiling_s(const JitterCore *j);
double jitter_start_delay_s(const JitterCore *j);
double jitter_delay_s(const JitterCore *j);

#endif
