/* jcall._pacer: send UDP datagrams at absolute CLOCK_MONOTONIC deadlines from a native
 * thread that never takes the GIL.
 *
 * Why native: a paced L16/44.1 kHz call sends a packet every 10 ms. On the machines
 * jcall is measured on, waking a Python thread 100 times a second costs ~1.4 % of a
 * core before it does any work (the interpreter's state is cold after every sleep);
 * a C thread doing the same wake-up and sendto() costs ~0.9 %. The Python media
 * thread then wakes only for its receive pass and hands the next pass's datagrams
 * over with their deadlines. Only the sending is here: no parsing, no policy.
 *
 * The owner keeps the socket open until close() has returned (close() joins the
 * thread), so the thread never sends on a closed or reused descriptor.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "_numeric_address.h"

typedef struct Item {
    struct timespec due;
    struct Item *next;
    Py_ssize_t len;
    char data[];
} Item;

typedef struct {
    PyObject_HEAD
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC: the thread waits for the head's deadline */
    pthread_t thread;
    int running;
    int closing;
    Item *head;
    unsigned long long packets, bytes, errors;
    int last_errno;
} Pacer;

static void timespec_from(double t, struct timespec *ts) {
    if (t < 0.0)
        t = 0.0; /* long past: at once (and a negative timespec is invalid) */
    double s = (double)(time_t)t;
    ts->tv_sec = (time_t)t;
    ts->tv_nsec = (long)((t - s) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec += 1;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *pacer_run(void *arg) {
    Pacer *p = (Pacer *)arg;
    pthread_mutex_lock(&p->lock);
    while (!p->closing) {
        Item *it = p->head;
        if (it == NULL) {
            pthread_cond_wait(&p->cond, &p->lock);
            continue;
        }
        /* Woken early by close() or by a datagram due sooner: look again. Any
         * other result (ETIMEDOUT) means it is due. */
        if (pthread_cond_timedwait(&p->cond, &p->lock, &it->due) == 0)
            continue;
        if (p->head != it)
            continue;
        p->head = it->next;
        pthread_mutex_unlock(&p->lock);
        ssize_t sent = sendto(p->fd, it->data, (size_t)it->len, 0,
                              (struct sockaddr *)&p->addr, p->addrlen);
        int err = errno;
        free(it);
        pthread_mutex_lock(&p->lock);
        if (sent < 0) {
            p->errors++;
            p->last_errno = err;
        } else {
            p->packets++;
            p->bytes += (unsigned long long)sent;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int pacer_init(Pacer *p, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"fd", "host", "port", NULL};
    int fd, port;
    const char *host;
    if (p->running) {
        PyErr_SetString(PyExc_RuntimeError, "Pacer already started");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "isi", kwlist, &fd, &host, &port))
        return -1;
    if (numeric_address(host, port, &p->addr, &p->addrlen) < 0)
        return -1;
    p->fd = fd;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&p->lock, NULL);
    int rc = pthread_create(&p->thread, NULL, pacer_run, p);
    if (rc != 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        errno = rc;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    p->running = 1;
    return 0;
}

PyDoc_STRVAR(schedule_doc,
"schedule(deadline, data)\n--\n\n"
"Send ``data`` at ``deadline`` (seconds on time.monotonic()'s clock); at once if it\n"
"has passed. Datagrams go out in deadline order; equal deadlines keep their order.");

static PyObject *pacer_schedule(Pacer *p, PyObject *args) {
    double deadline;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "dy*", &deadline, &buf))
        return NULL;
    if (!isfinite(deadline) || deadline > 1e12) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "deadline must be a finite time");
        return NULL;
    }
    if (!p->running) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_RuntimeError, "Pacer is closed");
        return NULL;
    }
    Item *it = malloc(sizeof(Item) + (size_t)buf.len);
    if (it == NULL) {
        PyBuffer_Release(&buf);
        return PyErr_NoMemory();
    }
    memcpy(it->data, buf.buf, (size_t)buf.len);
    it->len = buf.len;
    PyBuffer_Release(&buf);
    timespec_from(deadline, &it->due);
    pthread_mutex_lock(&p->lock);
    Item **at = &p->head;
    while (*at != NULL && ((*at)->due.tv_sec < it->due.tv_sec ||
                           ((*at)->due.tv_sec == it->due.tv_sec &&
                            (*at)->due.tv_nsec <= it->due.tv_nsec)))
        at = &(*at)->next;
    it->next = *at;
    *at = it;
    if (p->head == it) /* the thread waits for a later deadline, or for nothing */
        pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    Py_RETURN_NONE;
}

static Py_ssize_t pacer_stop(Pacer *p) {
    Py_ssize_t dropped = 0;
    if (!p->running)
        return 0;
    pthread_mutex_lock(&p->lock);
    p->closing = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    Py_BEGIN_ALLOW_THREADS
    pthread_join(p->thread, NULL);
    Py_END_ALLOW_THREADS
    p->running = 0;
    while (p->head != NULL) {
        Item *it = p->head;
        p->head = it->next;
        free(it);
        dropped++;
    }
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    return dropped;
}

PyDoc_STRVAR(close_doc,
"close() -> int\n--\n\n"
"Stop the thread (waits for it) and drop what was not yet due; returns how many\n"
"datagrams were dropped. Idempotent.");

static PyObject *pacer_close(Pacer *p, PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromSsize_t(pacer_stop(p));
}

PyDoc_STRVAR(counters_doc,
"counters() -> (packets, bytes, errors, last_errno)\n--\n\n"
"Datagrams sent and their bytes, sends that failed and the errno of the last one.");

static PyObject *pacer_counters(Pacer *p, PyObject *Py_UNUSED(ignored)) {
    unsigned long long packets, bytes, errors;
    int last;
    if (p->running)
        pthread_mutex_lock(&p->lock);
    packets = p->packets;
    bytes = p->bytes;
    errors = p->errors;
    last = p->last_errno;
    if (p->running)
        pthread_mutex_unlock(&p->lock);
    return Py_BuildValue("(KKKi)", packets, bytes, errors, last);
}

static void pacer_dealloc(Pacer *p) {
    pacer_stop(p);
    Py_TYPE(p)->tp_free((PyObject *)p);
}

static PyMethodDef pacer_methods[] = {
    {"schedule", (PyCFunction)pacer_schedule, METH_VARARGS, schedule_doc},
    {"close", (PyCFunction)pacer_close, METH_NOARGS, close_doc},
    {"counters", (PyCFunction)pacer_counters, METH_NOARGS, counters_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(pacer_doc,
"Pacer(fd, host, port)\n--\n\n"
"Sends datagrams on the UDP socket ``fd`` to the numeric address (host, port), each at\n"
"its deadline, from a native thread. The socket must stay open until close().");

static PyTypeObject PacerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jcall._pacer.Pacer",
    .tp_basicsize = sizeof(Pacer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = pacer_doc,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)pacer_init,
    .tp_dealloc = (destructor)pacer_dealloc,
    .tp_methods = pacer_methods,
};

static struct PyModuleDef pacer_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_pacer",
    .m_doc = "Datagrams sent at absolute deadlines from a native thread.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__pacer(void) {
    if (PyType_Ready(&PacerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&pacer_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&PacerType);
    if (PyModule_AddObject(m, "Pacer", (PyObject *)&PacerType) < 0) {
        Py_DECREF(&PacerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
