/* jcall._jitter: the jitter buffer (jcall/_jitter_core.c) as a Python type.
 *
 * Why native: a sound device's callback runs the jitter buffer once per frame, from
 * cold caches; in Python its push and pop are a good part of that callback's cost.
 * jcall/rtp/jitterbuffer.py is the reference, and the fallback where this was not
 * built; the tests hold the two to the same samples. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include "_jitter_core.h"

typedef struct {
    PyObject_HEAD
    JitterCore *core;
    int rate, channels;
    Py_ssize_t frame;
    double floor_s, max_s, hold_s;
} Jitter;

static int jitter_init(Jitter *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"rate", "channels", "frame", "floor_s", "max_s", "hold_s",
                             NULL};
    int rate, channels;
    Py_ssize_t frame;
    double floor_s = 0.010, max_s = 0.200, hold_s = 0.1;
    if (self->core != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "JitterBuffer already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iin|$ddd", kwlist, &rate, &channels,
                                     &frame, &floor_s, &max_s, &hold_s))
        return -1;
    if (rate < 1 || channels < 1 || channels > 2 || frame < 4 || frame > 1 << 16) {
        PyErr_SetString(PyExc_ValueError, "rate >= 1, 1 or 2 channels, frame 4..65536");
        return -1;
    }
    self->core = jitter_new(rate, channels, frame, floor_s, max_s, hold_s);
    if (self->core == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->rate = rate;
    self->channels = channels;
    self->frame = frame;
    self->floor_s = floor_s;
    self->max_s = max_s;
    self->hold_s = hold_s;
    return 0;
}

static int ready(Jitter *self) {
    if (self->core == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "JitterBuffer not initialised");
        return 0;
    }
    return 1;
}

static void jitter_dealloc(Jitter *self) {
    jitter_free(self->core);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(push_doc,
"push(timestamp, pcm, arrival)\n--\n\n"
"One packet's audio: ``pcm`` is interleaved int16 (any C-contiguous buffer) whose\n"
"first sample has RTP ``timestamp``; it arrived at ``arrival`` (seconds).");

static PyObject *jitter_push_py(Jitter *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "push(timestamp, pcm, arrival)");
        return NULL;
    }
    if (!ready(self))
        return NULL;
    unsigned long timestamp = PyLong_AsUnsignedLongMask(args[0]);
    if (timestamp == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    double arrival = PyFloat_AsDouble(args[2]);
    if (arrival == -1.0 && PyErr_Occurred())
        return NULL;
    Py_buffer buf;
    if (PyObject_GetBuffer(args[1], &buf, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    Py_ssize_t frame_bytes = self->channels * (Py_ssize_t)sizeof(int16_t);
    if (buf.len % frame_bytes != 0) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "pcm must hold whole frames of int16");
        return NULL;
    }
    int rc = jitter_push(self->core, (uint32_t)timestamp, (const int16_t *)buf.buf,
                         buf.len / frame_bytes, arrival);
    PyBuffer_Release(&buf);
    if (rc < 0)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

PyDoc_STRVAR(pop_doc,
"pop(now, span=0) -> bytes | None\n--\n\n"
"The next frame to play at ``now`` (interleaved int16), or None while waiting for the\n"
"first packet; ``span`` as JitterBuffer.pop.");

static PyObject *jitter_pop_py(Jitter *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "pop(now, span=0)");
        return NULL;
    }
    if (!ready(self))
        return NULL;
    double now = PyFloat_AsDouble(args[0]);
    if (now == -1.0 && PyErr_Occurred())
        return NULL;
    Py_ssize_t span = 0;
    if (nargs == 2) {
        span = PyLong_AsSsize_t(args[1]);
        if (span == -1 && PyErr_Occurred())
            return NULL;
    }
    const int16_t *out;
    Py_ssize_t n = jitter_pop(self->core, now, span, &out);
    if (n < 0)
        return PyErr_NoMemory();
    if (n == 0)
        Py_RETURN_NONE;
    return PyBytes_FromStringAndSize((const char *)out,
                                     n * self->channels * (Py_ssize_t)sizeof(int16_t));
}

static PyObject *jitter_new_source_py(Jitter *self, PyObject *Py_UNUSED(ignored)) {
    if (!ready(self))
        return NULL;
    jitter_new_source(self->core);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(counts_doc,
"counts() -> (received, duplicates, late, concealed_samples, accelerated_samples,\n"
"expanded_samples, underruns, restarts)\n--\n\n"
"JitterStats' counters, in that order.");

static PyObject *jitter_counts_py(Jitter *self, PyObject *Py_UNUSED(ignored)) {
    if (!ready(self))
        return NULL;
    const JitterCounts *c = jitter_counts(self->core);
    return Py_BuildValue("(LLLLLLLL)", c->received, c->duplicates, c->late,
                         c->concealed_samples, c->accelerated_samples, c->expanded_samples,
                         c->underruns, c->restarts);
}

static PyObject *jitter_core_py(Jitter *self, PyObject *Py_UNUSED(ignored)) {
    if (!ready(self))
        return NULL;
    return PyCapsule_New(self->core, "jcall._jitter.core", NULL);
}

static PyMethodDef jitter_methods[] = {
    {"push", (PyCFunction)(void (*)(void))jitter_push_py, METH_FASTCALL, push_doc},
    {"pop", (PyCFunction)(void (*)(void))jitter_pop_py, METH_FASTCALL, pop_doc},
    {"new_source", (PyCFunction)jitter_new_source_py, METH_NOARGS,
     "The sender's SSRC changed (JitterBuffer.new_source)."},
    {"counts", (PyCFunction)jitter_counts_py, METH_NOARGS, counts_doc},
    {"core", (PyCFunction)jitter_core_py, METH_NOARGS,
     "A capsule of the C state, for jcall._deviceclock (keep this object alive)."},
    {NULL, NULL, 0, NULL},
};

#define DOUBLE_GETTER(name)                                                        \
    static PyObject *get_##name(Jitter *self, void *Py_UNUSED(closure)) {          \
        if (!ready(self))                                                          \
            return NULL;                                                           \
        return PyFloat_FromDouble(jitter_##name(self->core));                      \
    }
DOUBLE_GETTER(level_s)
DOUBLE_GETTER(target_s)
DOUBLE_GETTER(quantum_s)
DOUBLE_GETTER(tiling_s)
DOUBLE_GETTER(start_delay_s)
DOUBLE_GETTER(delay_s)

static PyObject *get_playing(Jitter *self, void *Py_UNUSED(closure)) {
    if (!ready(self))
        return NULL;
    return PyBool_FromLong(jitter_playing(self->core));
}

static PyObject *get_settled_slack_s(Jitter *self, void *Py_UNUSED(closure)) {
    if (!ready(self))
        return NULL;
    double slack;
    if (!jitter_settled_slack_s(self->core, &slack))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(slack);
}

static PyGetSetDef jitter_getset[] = {
    {"playing", (getter)get_playing, NULL, "Whether playout has started.", NULL},
    {"level_s", (getter)get_level_s, NULL, "Audio buffered ahead of the playout point.",
     NULL},
    {"target_s", (getter)get_target_s, NULL, "The slack aimed for.", NULL},
    {"quantum_s", (getter)get_quantum_s, NULL, "The time between decisions.", NULL},
    {"settled_slack_s", (getter)get_settled_slack_s, NULL,
     "The continuous slack the latest packets settled at, or None.", NULL},
    {"tiling_s", (getter)get_tiling_s, NULL, "What untiled packets add to the delay.", NULL},
    {"start_delay_s", (getter)get_start_delay_s, NULL,
     "How long after the first packet's arrival playout may start.", NULL},
    {"delay_s", (getter)get_delay_s, NULL, "Designed delay, arrival to end of playout.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef jitter_members[] = {
    {"rate", T_INT, offsetof(Jitter, rate), READONLY, NULL},
    {"channels", T_INT, offsetof(Jitter, channels), READONLY, NULL},
    {"frame", T_PYSSIZET, offsetof(Jitter, frame), READONLY, NULL},
    {"floor_s", T_DOUBLE, offsetof(Jitter, floor_s), READONLY, NULL},
    {"max_s", T_DOUBLE, offsetof(Jitter, max_s), READONLY, NULL},
    {"hold_s", T_DOUBLE, offsetof(Jitter, hold_s), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject JitterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jcall._jitter.JitterBuffer",
    .tp_basicsize = sizeof(Jitter),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "JitterBuffer(rate, channels, frame, *, floor_s=0.010, max_s=0.200, "
              "hold_s=0.1): jcall/rtp/jitterbuffer.py's JitterBuffer in C, on bytes.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)jitter_init,
    .tp_dealloc = (destructor)jitter_dealloc,
    .tp_methods = jitter_methods,
    .tp_getset = jitter_getset,
    .tp_members = jitter_members,
};

static struct PyModuleDef jitter_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_jitter",
    .m_doc = "The jitter buffer and its concealment, in C.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__jitter(void) {
    if (PyType_Ready(&JitterType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&jitter_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&JitterType);
    if (PyModule_AddObject(m, "JitterBuffer", (PyObject *)&JitterType) < 0) {
        Py_DECREF(&JitterType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
