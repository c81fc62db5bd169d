/* The jitter buffer and its concealment in plain C; see _jitter_core.h. Names follow
 * jcall/rtp/jitterbuffer.py and jcall/audio/plc.py, the reference.
 *
 * Why the two give the same samples although the reference sums with numpy (BLAS, in
 * its own order): every sum here is of products of samples or of their channel means,
 * which are multiples of 1/4 far below 2**53, so each is exact in any order; the
 * rest is the same IEEE operations in the same order (no FMA contraction: the
 * default x86-64 target has none). */
#include "_jitter_core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SAFETY_S 0.003
#define JITTER_WINDOW_S 2.0
#define JITTER_SAMPLES 500
#define DECISION_PACKETS 20
#define EXPAND_OUTLIERS 2
#define MIN_JITTER_SAMPLES 20
#define MARGIN_S 0.002
#define LEVEL_PACKETS 20
#define LEVEL_STEP_S 0.003
#define DECISION_GAPS 50
#define GAP_TOLERANCE_S 0.0001
#define ACCELERATE_MARGIN_S 0.004
#define DISTURBANCE_S 0.002
#define XFADE_S 0.001
/* plc.py */
#define MIN_PITCH_S 0.0025
#define MAX_PITCH_S 0.015
#define FULL_LEVEL_S 0.010
#define FADE_PER_S 20.0
#define RESUME_XFADE_S 0.004

typedef ptrdiff_t isize;

static isize imin(isize a, isize b) { return a < b ? a : b; }
static isize imax(isize a, isize b) { return a > b ? a : b; }

static int16_t to_int16(double v) { /* np.clip(np.rint(v), -32768, 32767) */
    v = nearbyint(v);
    return (int16_t)(v < -32768.0 ? -32768.0 : v > 32767.0 ? 32767.0 : v);
}

/* -- seqnum.py's Unwrapper, 32 bits ---------------------------------------------------- */
typedef struct {
    int known;
    int64_t last;
} Unwrap;

static int64_t unwrap(Unwrap *u, uint32_t value) {
    if (!u->known) {
        u->known = 1;
        u->last = value;
        return value;
    }
    const int64_t mod = (int64_t)1 << 32;
    int64_t d = (((int64_t)value - u->last) % mod + mod) % mod;
    if (d >= mod / 2)
        d -= mod;
    int64_t ext = u->last + d;
    if (d > 0)
        u->last = ext;
    return ext;
}

/* -- plc.py's Concealer ------------------------------------------------------------------ */
typedef struct {
    int rate, ch;
    isize history_len;
    int16_t *history; /* the last history_len frames played, zeros before */
    double *mono;     /* scratch: the history's channel mean */
    double *templ;    /* one pitch period, while concealing */
    isize period, phase, elapsed;
    int concealing;
    double *synth;    /* scratch for synth() */
    isize synth_cap;
} Concealer;

static int concealer_init(Concealer *c, int rate, int ch) {
    c->rate = rate;
    c->ch = ch;
    c->history_len = (isize)(rate * MAX_PITCH_S * 3);
    c->history = calloc((size_t)(c->history_len * ch), sizeof(int16_t));
    c->mono = calloc((size_t)c->history_len, sizeof(double));
    c->templ = calloc((size_t)(c->history_len * ch), sizeof(double));
    return c->history && c->mono && c->templ ? 0 : -1;
}

static void concealer_free(Concealer *c) {
    free(c->history);
    free(c->mono);
    free(c->templ);
    free(c->synth);
}

static void concealer_reset(Concealer *c) {
    memset(c->history, 0, (size_t)(c->history_len * c->ch) * sizeof(int16_t));
    c->concealing = 0;
}

static void remember(Concealer *c, const int16_t *pcm, isize n) {
    isize len = c->history_len, ch = c->ch;
    if (n >= len) {
        memcpy(c->history, pcm + (n - len) * ch, (size_t)(len * ch) * sizeof(int16_t));
        return;
    }
    memmove(c->history, c->history + n * ch, (size_t)((len - n) * ch) * sizeof(int16_t));
    memcpy(c->history + (len - n) * ch, pcm, (size_t)(n * ch) * sizeof(int16_t));
}

static double dot(const double *a, const double *b, isize n) {
    double s = 0.0;
    for (isize i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* plc.find_pitch */
static isize find_pitch(const double *history, isize len, int rate) {
    isize lo = imax(1, (isize)(rate * MIN_PITCH_S)), hi = (isize)(rate * MAX_PITCH_S);
    isize window = hi;
    if (len < window + hi)
        return imin(hi, imax(lo, len / 2));
    const double *target = history + len - window;
    double energy_t = dot(target, target, window) + 1e-9;
    double best = -INFINITY;
    isize best_lag = lo;
    /* candidate j starts (window + hi) - j before the end: lag hi - j; its energy is
     * kept by sliding (exact: see the top) */
    const double *base = history + len - (window + hi);
    double sum_sq = dot(base, base, window);
    for (isize j = 0; j <= hi - lo; j++) {
        if (j > 0)
            sum_sq += base[j + window - 1] * base[j + window - 1]
                - base[j - 1] * base[j - 1];
        double corr = dot(base + j, target, window);
        double score = corr / sqrt((sum_sq + 1e-9) * energy_t);
        if (score > best) {
            best = score;
            best_lag = hi - j;
        }
    }
    return isfinite(best) ? best_lag : lo;
}

static double gain(const Concealer *c, isize at) {
    double t = (double)at / (double)c->rate;
    double g = 1.0 - fmax(t - FULL_LEVEL_S, 0.0) * FADE_PER_S;
    return g < 0.0 ? 0.0 : g > 1.0 ? 1.0 : g;
}

/* n frames of synthesis (doubles) into c->synth; -1 when out of memory */
static int synth(Concealer *c, isize n) {
    isize ch = c->ch;
    if (n * ch > c->synth_cap) {
        double *more = realloc(c->synth, (size_t)(n * ch) * sizeof(double));
        if (more == NULL)
            return -1;
        c->synth = more;
        c->synth_cap = n * ch;
    }
    if (!c->concealing) {
        isize len = c->history_len;
        for (isize i = 0; i < len; i++) {
            double s = 0.0;
            for (isize k = 0; k < ch; k++)
                s += (double)c->history[i * ch + k];
            c->mono[i] = s / (double)ch;
        }
        c->period = find_pitch(c->mono, len, c->rate);
        for (isize i = 0; i < c->period * ch; i++)
            c->templ[i] = (double)c->history[(len - c->period) * ch + i];
        c->phase = c->elapsed = 0;
        c->concealing = 1;
    }
    for (isize i = 0; i < n; i++) {
        isize idx = (c->phase + i) % c->period;
        double g = gain(c, c->elapsed + i);
        for (isize k = 0; k < ch; k++)
            c->synth[i * ch + k] = c->templ[idx * ch + k] * g;
    }
    c->phase = (c->phase + n) % c->period;
    c->elapsed += n;
    return 0;
}

static int conceal(Concealer *c, int16_t *out, isize n) {
    if (synth(c, n) < 0)
        return -1;
    for (isize i = 0; i < n * c->ch; i++)
        out[i] = to_int16(c->synth[i]);
    return 0;
}

/* Concealer.play: real audio to ``out``, cross-faded in after a concealment */
static int play_real(Concealer *c, const int16_t *pcm, isize m, int16_t *out) {
    isize ch = c->ch;
    memcpy(out, pcm, (size_t)(m * ch) * sizeof(int16_t));
    if (c->concealing) {
        isize n = imin(m, imax(1, (isize)(c->rate * RESUME_XFADE_S)));
        if (synth(c, n) < 0)
            return -1;
        double step = 1.0 / (double)n;
        for (isize i = 0; i < n; i++) {
            double ramp = (double)i * step;
            for (isize k = 0; k < ch; k++)
                out[i * ch + k] = to_int16((double)pcm[i * ch + k] * ramp
                                           + c->synth[i * ch + k] * (1.0 - ramp));
        }
        c->concealing = 0;
    }
    remember(c, out, m);
    return 0;
}

/* -- jitterbuffer.py ------------------------------------------------------------------- */
typedef struct {
    int64_t ext;
    isize n;
    double arrival;
    int fresh; /* its arrival is kept until its first use (JitterBuffer._arrivals) */
    int16_t *pcm;
} Chunk;

struct JitterCore {
    int rate, ch;
    isize frame;
    double floor_s, max_s, hold_s, target_s;
    JitterCounts counts;
    Unwrap unwrap;
    Chunk *chunks; /* by ext */
    isize nchunks, chunks_cap;
    int playing;
    int64_t play;
    double first_arrival;
    int decided;
    double decided_at;
    int64_t decision_first;
    double gaps[DECISION_GAPS];
    int ngaps, gap_next;
    long long decisions;
    double quantum;
    isize tiling;
    double last_arrival;
    Concealer conc;
    double *tm_arrival, *tm_transit; /* the monotonic minimum: a ring */
    isize tm_head, tm_len, tm_cap;
    double jitter[JITTER_SAMPLES]; /* a ring, in arrival order */
    int jitter_head, jitter_len;
    double jitter_sorted[JITTER_SAMPLES];
    double recent_arrival[LEVEL_PACKETS], recent_transit[LEVEL_PACKETS]; /* a ring */
    int recent_head, recent_len;
    double slack_q[DECISION_PACKETS], slack_c[DECISION_PACKETS]; /* rings */
    int slack_len, slack_next;
    int has_settled, has_return; /* _settled, _return_to (None when 0) */
    double settled, return_to;
    int16_t *out, *take; /* pop's result; _take's samples */
    double *energy;      /* _cut's scratch */
};

JitterCore *jitter_new(int rate, int channels, ptrdiff_t frame, double floor_s,
                       double max_s, double hold_s) {
    JitterCore *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->rate = rate;
    j->ch = channels;
    j->frame = frame;
    j->floor_s = j->target_s = floor_s;
    j->max_s = max_s;
    j->hold_s = hold_s;
    j->quantum = (double)frame / (double)rate;
    isize most = frame + frame / 4 + 1;
    j->out = calloc((size_t)(most * channels), sizeof(int16_t));
    j->take = calloc((size_t)(most * channels), sizeof(int16_t));
    j->energy = calloc((size_t)most, sizeof(double) * 2);
    if (concealer_init(&j->conc, rate, channels) < 0 || !j->out || !j->take || !j->energy) {
        jitter_free(j);
        return NULL;
    }
    return j;
}

static void drop_first(JitterCore *j, isize count) {
    for (isize i = 0; i < count; i++)
        free(j->chunks[i].pcm);
    memmove(j->chunks, j->chunks + count, (size_t)(j->nchunks - count) * sizeof(Chunk));
    j->nchunks -= count;
}

void jitter_free(JitterCore *j) {
    if (j == NULL)
        return;
    drop_first(j, j->nchunks);
    free(j->chunks);
    concealer_free(&j->conc);
    free(j->tm_arrival);
    free(j->tm_transit);
    free(j->out);
    free(j->take);
    free(j->energy);
    free(j);
}

static void clear_slack(JitterCore *j) { j->slack_len = j->slack_next = 0; }

static void add_slack(JitterCore *j, double q, double c) {
    j->slack_q[j->slack_next] = q;
    j->slack_c[j->slack_next] = c;
    j->slack_next = (j->slack_next + 1) % DECISION_PACKETS;
    if (j->slack_len < DECISION_PACKETS)
        j->slack_len++;
}

static void stop(JitterCore *j) {
    j->has_settled = j->has_return = 0;
    j->playing = 0;
    drop_first(j, j->nchunks);
    clear_slack(j);
    concealer_reset(&j->conc);
}

void jitter_new_source(JitterCore *j) {
    stop(j);
    j->unwrap.known = 0;
    j->tm_len = j->tm_head = 0;
    j->recent_len = j->recent_head = 0;
    j->counts.restarts++;
}

const JitterCounts *jitter_counts(const JitterCore *j) { return &j->counts; }
int jitter_playing(const JitterCore *j) { return j->playing; }
double jitter_target_s(const JitterCore *j) { return j->target_s; }
double jitter_quantum_s(const JitterCore *j) { return j->quantum; }
int jitter_settled_slack_s(const JitterCore *j, double *slack) {
    *slack = j->settled;
    return j->has_settled;
}
double jitter_tiling_s(const JitterCore *j) { return (double)j->tiling / (double)j->rate; }

double jitter_level_s(const JitterCore *j) {
    if (!j->playing || j->nchunks == 0)
        return 0.0;
    const Chunk *last = &j->chunks[j->nchunks - 1];
    int64_t ahead = last->ext + last->n - j->play;
    return (double)(ahead > 0 ? ahead : 0) / (double)j->rate;
}

double jitter_start_delay_s(const JitterCore *j) {
    return j->target_s + MARGIN_S + j->quantum + jitter_tiling_s(j)
        - (double)j->frame / (double)j->rate;
}

double jitter_delay_s(const JitterCore *j) {
    return j->target_s + j->quantum + jitter_tiling_s(j);
}

/* bisect.insort into a sorted array of n (room for one more) */
static void insort(double *a, int n, double v) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v < a[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    memmove(a + lo + 1, a + lo, (size_t)(n - lo) * sizeof(double));
    a[lo] = v;
}

static void remove_sorted(double *a, int n, double v) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(a + lo, a + lo + 1, (size_t)(n - lo - 1) * sizeof(double));
}

/* _rebase: a level shift; the minimum is the recent packets', and their jitter
 * samples are measured against it */
static void rebase(JitterCore *j, double low) {
    double since = j->recent_arrival[j->recent_head];
    while (j->tm_len > 1 && j->tm_arrival[j->tm_head] < since) {
        j->tm_head = (j->tm_head + 1) % j->tm_cap;
        j->tm_len--;
    }
    int first = j->jitter_head + j->jitter_len - LEVEL_PACKETS;
    for (int k = 0; k < LEVEL_PACKETS; k++) {
        int i = (first + k) % JITTER_SAMPLES;
        double fresh = j->recent_transit[(j->recent_head + k) % LEVEL_PACKETS] - low;
        remove_sorted(j->jitter_sorted, j->jitter_len, j->jitter[i]);
        insort(j->jitter_sorted, j->jitter_len - 1, fresh);
        j->jitter[i] = fresh;
    }
}

static int track_jitter(JitterCore *j, int64_t ext, double arrival) {
    double transit = arrival - (double)ext / (double)j->rate;
    while (j->tm_len > 0
           && j->tm_transit[(j->tm_head + j->tm_len - 1) % j->tm_cap] >= transit)
        j->tm_len--;
    if (j->tm_len == j->tm_cap) {
        isize cap = j->tm_cap ? 2 * j->tm_cap : 256;
        double *a = malloc((size_t)cap * sizeof(double));
        double *t = malloc((size_t)cap * sizeof(double));
        if (a == NULL || t == NULL) {
            free(a);
            free(t);
            return -1;
        }
        for (isize i = 0; i < j->tm_len; i++) {
            a[i] = j->tm_arrival[(j->tm_head + i) % j->tm_cap];
            t[i] = j->tm_transit[(j->tm_head + i) % j->tm_cap];
        }
        free(j->tm_arrival);
        free(j->tm_transit);
        j->tm_arrival = a;
        j->tm_transit = t;
        j->tm_head = 0;
        j->tm_cap = cap;
    }
    isize tail = (j->tm_head + j->tm_len) % j->tm_cap;
    j->tm_arrival[tail] = arrival;
    j->tm_transit[tail] = transit;
    j->tm_len++;
    while (j->tm_arrival[j->tm_head] < arrival - JITTER_WINDOW_S) {
        j->tm_head = (j->tm_head + 1) % j->tm_cap;
        j->tm_len--;
    }
    double jitter = transit - j->tm_transit[j->tm_head];
    if (j->jitter_len == JITTER_SAMPLES) {
        double old = j->jitter[j->jitter_head];
        j->jitter_head = (j->jitter_head + 1) % JITTER_SAMPLES;
        j->jitter_len--;
        remove_sorted(j->jitter_sorted, j->jitter_len + 1, old);
    }
    j->jitter[(j->jitter_head + j->jitter_len) % JITTER_SAMPLES] = jitter;
    insort(j->jitter_sorted, j->jitter_len, jitter);
    j->jitter_len++;
    if (j->recent_len == LEVEL_PACKETS) {
        j->recent_head = (j->recent_head + 1) % LEVEL_PACKETS;
        j->recent_len--;
    }
    int at = (j->recent_head + j->recent_len) % LEVEL_PACKETS;
    j->recent_arrival[at] = arrival;
    j->recent_transit[at] = transit;
    j->recent_len++;
    if (j->recent_len == LEVEL_PACKETS) {
        double low = j->recent_transit[j->recent_head], high = low;
        for (int k = 1; k < LEVEL_PACKETS; k++) {
            double t = j->recent_transit[(j->recent_head + k) % LEVEL_PACKETS];
            low = t < low ? t : low;
            high = t > high ? t : high;
        }
        double spread = high - low;
        if (low - j->tm_transit[j->tm_head] >= (LEVEL_STEP_S > spread ? LEVEL_STEP_S : spread))
            rebase(j, low);
    }
    return 0;
}

/* the index of the last chunk whose ext is <= pos, or -1 (bisect_right - 1) */
static isize chunk_at(const JitterCore *j, int64_t pos) {
    isize lo = 0, hi = j->nchunks;
    while (lo < hi) {
        isize mid = (lo + hi) / 2;
        if (pos < j->chunks[mid].ext)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo - 1;
}

int jitter_push(JitterCore *j, uint32_t timestamp, const int16_t *pcm, ptrdiff_t n,
                double arrival) {
    int64_t ext = unwrap(&j->unwrap, timestamp);
    if (n == 0)
        return 0;
    if (track_jitter(j, ext, arrival) < 0)
        return -1;
    if (j->playing) {
        if (ext + n <= j->play) {
            j->counts.late++;
            return 0;
        }
        if ((double)(ext - j->play) > (j->max_s + j->hold_s) * (double)j->rate) {
            stop(j); /* the sender jumped ahead: start over from this packet */
            j->counts.restarts++;
        }
    }
    isize i = chunk_at(j, ext);
    if (i >= 0 && j->chunks[i].ext == ext) {
        j->counts.duplicates++;
        return 0;
    }
    if (j->nchunks == j->chunks_cap) {
        isize cap = j->chunks_cap ? 2 * j->chunks_cap : 32;
        Chunk *more = realloc(j->chunks, (size_t)cap * sizeof(Chunk));
        if (more == NULL)
            return -1;
        j->chunks = more;
        j->chunks_cap = cap;
    }
    int16_t *copy = malloc((size_t)(n * j->ch) * sizeof(int16_t));
    if (copy == NULL)
        return -1;
    memcpy(copy, pcm, (size_t)(n * j->ch) * sizeof(int16_t));
    i++;
    memmove(j->chunks + i + 1, j->chunks + i, (size_t)(j->nchunks - i) * sizeof(Chunk));
    j->chunks[i] = (Chunk){.ext = ext, .n = n, .arrival = arrival,
                           .fresh = !j->playing || ext >= j->play, .pcm = copy};
    j->nchunks++;
    j->counts.received++;
    if (!j->playing && j->nchunks == 1) {
        j->first_arrival = arrival;
        isize a = n, b = j->frame;
        while (b) {
            isize r = a % b;
            a = b;
            b = r;
        }
        j->tiling = j->frame - a;
    }
    j->last_arrival = arrival;
    return 0;
}

static void sort_doubles(double *a, int n) { /* insertion sort: n <= 50 */
    for (int i = 1; i < n; i++) {
        double v = a[i];
        int k = i - 1;
        while (k >= 0 && a[k] > v) {
            a[k + 1] = a[k];
            k--;
        }
        a[k + 1] = v;
    }
}

static void note_gap(JitterCore *j, double gap) {
    j->gaps[j->gap_next] = gap;
    j->gap_next = (j->gap_next + 1) % DECISION_GAPS;
    if (j->ngaps < DECISION_GAPS)
        j->ngaps++;
    j->decisions++;
    if (gap > j->quantum + GAP_TOLERANCE_S || j->decisions % DECISION_GAPS == 0) {
        double sorted[DECISION_GAPS];
        memcpy(sorted, j->gaps, (size_t)j->ngaps * sizeof(double));
        sort_doubles(sorted, j->ngaps);
        double q = sorted[(isize)nearbyint(0.9 * (double)(j->ngaps - 1))];
        double least = (double)j->frame / (double)j->rate;
        j->quantum = least > q ? least : q;
    }
}

static void start(JitterCore *j, double now) {
    double late_s = now - j->first_arrival - jitter_start_delay_s(j);
    if (late_s > j->quantum) {
        int64_t on_time = j->chunks[0].ext
            + (int64_t)nearbyint((late_s - j->quantum) * (double)j->rate) + j->frame;
        isize drop = 0;
        while (j->nchunks - drop > 1 && j->chunks[drop + 1].ext <= on_time)
            drop++;
        drop_first(j, drop);
        j->counts.late += drop;
    }
    j->playing = 1;
    j->play = j->decision_first = j->chunks[0].ext;
    clear_slack(j);
}

static void update_target(JitterCore *j) {
    if (j->jitter_len >= MIN_JITTER_SAMPLES) {
        double p95 = j->jitter_sorted[(isize)nearbyint(0.95 * (double)(j->jitter_len - 1))];
        double t = p95 + SAFETY_S;
        t = j->floor_s > t ? j->floor_s : t;
        j->target_s = j->max_s < t ? j->max_s : t;
    }
}

/* _keeps_slack: whether dropping k samples leaves the latest packets the slack the
 * expand rule asks */
static int keeps_slack(const JitterCore *j, isize k) {
    double after[DECISION_PACKETS];
    for (int i = 0; i < DECISION_PACKETS; i++) {
        double q = j->slack_q[i], c = j->slack_c[i];
        after[i] = (c - q) * (double)j->rate >= (double)k ? q : q - j->quantum;
    }
    sort_doubles(after, DECISION_PACKETS);
    return after[EXPAND_OUTLIERS] >= j->target_s - MARGIN_S;
}

static void decide(JitterCore *j, isize *accelerate, isize *expand) {
    *accelerate = *expand = 0;
    if (j->slack_len < DECISION_PACKETS)
        return;
    double q[DECISION_PACKETS], c[DECISION_PACKETS];
    memcpy(q, j->slack_q, sizeof q);
    sort_doubles(q, DECISION_PACKETS);
    double quantised = q[EXPAND_OUTLIERS];
    isize step = j->frame / 4;
    if (quantised < j->target_s - MARGIN_S) {
        clear_slack(j);
        j->has_return = 0;
        *expand = imax(1, imin(step, (isize)nearbyint((j->target_s - quantised)
                                                       * (double)j->rate)));
        return;
    }
    memcpy(c, j->slack_c, sizeof c);
    sort_doubles(c, DECISION_PACKETS);
    double continuous = c[1];
    isize ahead = (isize)(jitter_level_s(j) * (double)j->rate) - j->frame;
    if (j->has_return) {
        double rise = continuous - j->return_to;
        isize k = imin(imin(step, (isize)nearbyint(rise * (double)j->rate)), ahead);
        if (rise > MARGIN_S && k > 0 && keeps_slack(j, k)) {
            clear_slack(j);
            *accelerate = k;
            return;
        }
        j->has_return = 0; /* back (or as near as it may go) */
    }
    j->settled = continuous;
    j->has_settled = 1;
    double designed = j->target_s + j->quantum + jitter_tiling_s(j);
    if (continuous > designed + ACCELERATE_MARGIN_S) {
        isize k = imin(imin(step, (isize)nearbyint((continuous - designed)
                                                   * (double)j->rate)), ahead);
        if (k > 0) {
            clear_slack(j);
            *accelerate = k;
        }
    }
}

/* _take: n frames from the playout point on, into j->take */
static int take(JitterCore *j, isize n, double now) {
    isize ch = j->ch;
    int64_t first = j->play, end = j->play + n, pos = first;
    while (pos < end) {
        isize i = chunk_at(j, pos);
        isize m;
        int16_t *to = j->take + (pos - first) * ch;
        if (i >= 0 && pos < j->chunks[i].ext + j->chunks[i].n) {
            Chunk *c = &j->chunks[i];
            if (c->fresh) { /* its first use */
                c->fresh = 0;
                add_slack(j, now - c->arrival,
                          now - c->arrival + (double)(pos - j->decision_first)
                              / (double)j->rate);
            }
            m = (isize)((end < c->ext + c->n ? end : c->ext + c->n) - pos);
            if (play_real(&j->conc, c->pcm + (pos - c->ext) * ch, m, to) < 0)
                return -1;
        } else {
            int64_t next = i + 1 < j->nchunks ? j->chunks[i + 1].ext : end;
            m = (isize)((end < next ? end : next) - pos);
            if (i + 1 >= j->nchunks && pos == first)
                j->counts.underruns++;
            if (conceal(&j->conc, to, m) < 0)
                return -1;
            j->counts.concealed_samples += m;
        }
        pos += m;
    }
    j->play = end;
    return 0;
}

/* _cut: k of pcm's n frames removed at the quietest point, cross-fading over xf */
static void cut(JitterCore *j, const int16_t *pcm, isize n, isize k, isize xf,
                int16_t *out) {
    isize ch = j->ch;
    xf = imin(xf, (n - k) / 2);
    double *mono = j->energy, *energy = j->energy + n;
    for (isize i = 0; i < n; i++) {
        double s = 0.0;
        for (isize c = 0; c < ch; c++)
            s += (double)pcm[i * ch + c];
        mono[i] = s / (double)ch;
    }
    isize w = k + xf, lo = xf, hi = n - k - xf, at;
    if (hi >= lo) {
        double sum = 0.0; /* energy of mono[c:c+w], slid (exact: see the top) */
        for (isize i = 0; i < w; i++)
            sum += mono[i] * mono[i];
        energy[0] = sum;
        for (isize c = 1; c <= hi; c++) {
            sum += mono[c + w - 1] * mono[c + w - 1] - mono[c - 1] * mono[c - 1];
            energy[c] = sum;
        }
        at = lo;
        for (isize c = lo + 1; c <= hi; c++)
            if (energy[c] < energy[at])
                at = c;
    } else {
        at = imax(0, (n - k) / 2);
    }
    memcpy(out, pcm, (size_t)(at * ch) * sizeof(int16_t));
    double step = xf ? 1.0 / (double)xf : 0.0;
    for (isize i = 0; i < xf; i++) {
        double ramp = (double)i * step;
        for (isize c = 0; c < ch; c++)
            out[(at + i) * ch + c] = to_int16((double)pcm[(at + i) * ch + c] * (1.0 - ramp)
                                              + (double)pcm[(at + k + i) * ch + c] * ramp);
    }
    memcpy(out + (at + xf) * ch, pcm + (at + k + xf) * ch,
           (size_t)((n - at - k - xf) * ch) * sizeof(int16_t));
}

ptrdiff_t jitter_pop(JitterCore *j, double now, ptrdiff_t span, const int16_t **out) {
    if (!j->decided || now != j->decided_at) { /* a new decision */
        if (j->decided) {
            double gap = now - j->decided_at;
            if (gap > j->quantum + DISTURBANCE_S && j->has_settled) {
                j->return_to = j->settled;
                j->has_return = 1;
                clear_slack(j);
            }
            note_gap(j, gap);
        }
        else if (span > j->frame)
            j->quantum = (double)span / (double)j->rate;
        j->decided = 1;
        j->decided_at = now;
        j->decision_first = j->playing ? j->play : 0;
    }
    if (!j->playing) {
        if (j->nchunks == 0 || now < j->first_arrival + jitter_start_delay_s(j) - 1e-6)
            return 0;
        start(j, now);
    }
    update_target(j);
    isize accelerate, expand, ch = j->ch;
    decide(j, &accelerate, &expand);
    isize n = j->frame + accelerate - expand;
    if (take(j, n, now) < 0)
        return -1;
    if (accelerate) {
        cut(j, j->take, n, accelerate, imax(1, (isize)(XFADE_S * (double)j->rate)), j->out);
        j->counts.accelerated_samples += accelerate;
    } else {
        memcpy(j->out, j->take, (size_t)(n * ch) * sizeof(int16_t));
    }
    if (expand) {
        if (conceal(&j->conc, j->out + n * ch, expand) < 0)
            return -1;
        j->counts.expanded_samples += expand;
    }
    /* _forget_played */
    isize done = 0;
    while (done < j->nchunks && j->chunks[done].ext + j->chunks[done].n <= j->play)
        done++;
    drop_first(j, done);
    if (j->nchunks == 0 && now - j->last_arrival > j->hold_s)
        stop(j);
    *out = j->out;
    return j->frame;
}
