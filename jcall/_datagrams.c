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

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_DATAGRAM 2048 /* as udp.py: RTP stays under 1200 bytes, STUN under 600 */

static double seconds(const struct timespec *t) {
    return (double)t->tv_sec + (double)t->tv_nsec * 1e-9;
}

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
    if (from->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)from;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    }
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
    /* The offset between the stamps' clock and ours, read once per call (it moves
     * only when the wall clock is stepped). */
    struct timespec real, mono;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    double offset = seconds(&real) - seconds(&mono);
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    for (;;) {
        char data[MAX_DATAGRAM];
        union {
            char space[CMSG_SPACE(sizeof(struct timespec))];
            struct cmsghdr align;
        } control;
        struct sockaddr_storage from;
        struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
        struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                             .msg_iovlen = 1, .msg_control = control.space,
                             .msg_controllen = sizeof control.space};
        /* (the GIL is kept: a call that does not wait is shorter than handing it over) */
        ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || PyList_GET_SIZE(out) > 0)
                return out;
            Py_DECREF(out);
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        double arrival = -1.0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
                struct timespec stamp;
                memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
                arrival = seconds(&stamp) - offset;
            }
        }
        if (arrival < 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            arrival = seconds(&now);
        }
        PyObject *source = address(&from, msg.msg_namelen);
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
