/* jcall._datagrams: every datagram waiting on a UDP socket, with the kernel's arrival
 * time, read in one native call (the same result as jcall/transport/udp.py's
 * receive_all in Python, which it stands in for where it was built).
 *
 * Why native: a sound device's callback reads the media socket once per 10 ms frame,
 * each time from cold caches. In Python that is a recvmsg() per datagram, one more
 * that ends in BlockingIOError (an exception object each time), and the control
 * message unpacked by hand; here it is the system calls alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_stamped.h"

/* The (host, port) of the last source seen, and that source: a media socket hears one
 * peer, so its address is formatted (inet_ntop, then a str and a tuple) once, not per
 * datagram. Used only with the GIL held, which is never released in between. */
static struct sockaddr_storage last_from;
static socklen_t last_len;
static PyObject *last_address;

static PyObject *address(const struct sockaddr_storage *from, socklen_t len) {
    if (last_address != NULL && len == last_len && memcmp(from, &last_from, len) == 0) {
        Py_INCREF(last_address);
        return last_address;
    }
    char host[INET6_ADDRSTRLEN];
    int port;
    address_text(from, host, &port);
    PyObject *out = Py_BuildValue("(si)", host, port);
    if (out != NULL && len <= (socklen_t)sizeof last_from) {
        memcpy(&last_from, from, len);
        last_len = len;
        Py_INCREF(out);
        Py_XSETREF(last_address, out);
    }
    return out;
}

PyDoc_STRVAR(receive_all_doc,
"receive_all(fd) -> list[tuple[float, bytes, tuple[str, int]]]\n--\n\n"
"Every datagram waiting on the non-blocking UDP socket ``fd``, in arrival order, as\n"
"(arrival, data, (host, port)); arrival on CLOCK_MONOTONIC, from the kernel's\n"
"SO_TIMESTAMPNS stamp where there is one, else the time of reading. An error other\n"
"than 'nothing waiting' raises OSError if nothing was read before it.");

static PyObject *receive_all(PyObject *Py_UNUSED(module), PyObject *arg) {
    int fd;
    if (!PyArg_Parse(arg, "i", &fd))
        return NULL;
    double offset = stamp_offset();
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    for (;;) {
        unsigned char data[MAX_DATAGRAM];
        struct sockaddr_storage from;
        socklen_t from_len;
        double arrival;
        /* (the GIL is kept: a call that does not wait is shorter than handing it over) */
        ssize_t n = receive_stamped(fd, data, sizeof data, &from, &from_len, offset,
                                    &arrival);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || PyList_GET_SIZE(out) > 0)
                return out;
            Py_DECREF(out);
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        PyObject *source = address(&from, from_len);
        PyObject *item = source == NULL ? NULL
            : Py_BuildValue("(dy#N)", arrival, data, (Py_ssize_t)n, source);
        if (item == NULL || PyList_Append(out, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(item);
    }
}

static PyMethodDef methods[] = {
    {"receive_all", receive_all, METH_O, receive_all_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef datagrams_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_datagrams",
    .m_doc = "Every datagram waiting on a UDP socket, with kernel arrival times.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__datagrams(void) {
    return PyModule_Create(&datagrams_module);
}
