/* A datagram with the kernel's arrival time, and a source address as text: for the
 * native readers, jcall/_datagrams.c and jcall/_deviceclock.c. Arrival times are on
 * CLOCK_MONOTONIC (time.monotonic(), the event loop's clock) from the SO_TIMESTAMPNS
 * stamp (CLOCK_REALTIME), where the socket has it (jcall/transport/udp.py). */
#ifndef JCALL_STAMPED_H
#define JCALL_STAMPED_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_DATAGRAM 2048 /* as udp.py: RTP stays under 1200 bytes, STUN under 600 */

static double seconds_of(const struct timespec *t) {
    return (double)t->tv_sec + (double)t->tv_nsec * 1e-9;
}

static double monotonic_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return seconds_of(&t);
}

/* The offset between the stamps' clock and ours: read once per batch of reads (it
 * moves only when the wall clock is stepped). */
static double stamp_offset(void) {
    struct timespec real, mono;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    return seconds_of(&real) - seconds_of(&mono);
}

/* One datagram waiting on ``fd`` (never waits), its source and arrival; the length,
 * or -1 with errno (EAGAIN: nothing waiting; EINTR is retried here). */
static ssize_t receive_stamped(int fd, unsigned char *data, size_t size,
                               struct sockaddr_storage *from, socklen_t *from_len,
                               double offset, double *arrival) {
    union {
        char space[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = data, .iov_len = size};
    struct msghdr msg = {.msg_name = from, .msg_namelen = sizeof *from, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = control.space,
                         .msg_controllen = sizeof control.space};
    ssize_t n;
    do
        n = recvmsg(fd, &msg, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return n;
    *from_len = msg.msg_namelen;
    *arrival = -1.0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
            struct timespec stamp;
            memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
            *arrival = seconds_of(&stamp) - offset;
        }
    }
    if (*arrival < 0)
        *arrival = monotonic_now();
    return n;
}

/* An IPv4 or IPv6 address as numeric text and a port. */
static void address_text(const struct sockaddr_storage *from, char host[INET6_ADDRSTRLEN],
                         int *port) {
    if (from->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
        inet_ntop(AF_INET6, &a->sin6_addr, host, INET6_ADDRSTRLEN);
        *port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)from;
        inet_ntop(AF_INET, &a->sin_addr, host, INET6_ADDRSTRLEN);
        *port = ntohs(a->sin_port);
    }
}

#endif
