/* A numeric UDP address (no name lookup) for jcall's native senders, jcall/_pacer.c
 * and jcall/_deviceclock.c. */
#ifndef JCALL_NUMERIC_ADDRESS_H
#define JCALL_NUMERIC_ADDRESS_H

#include <Python.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Fill ``addr``/``len`` from a numeric host and a port; -1 with ValueError set if the
 * host is not a numeric address. */
static int numeric_address(const char *host, int port, struct sockaddr_storage *addr,
                           socklen_t *len) {
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || res == NULL) {
        PyErr_Format(PyExc_ValueError, "not a numeric address: %s (%s)", host,
                     gai_strerror(rc));
        return -1;
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

#endif
