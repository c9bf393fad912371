/* net_common.h: helpers shared by the net_* probes (sockets).
 *
 * Like the proc_* probes (proc_common.h), output must be identical natively and
 * in elfin: no pids, ports chosen by the kernel, addresses of the host or times;
 * errno names, poll events by name, relations ("yes"). */
#ifndef NET_COMMON_H
#define NET_COMMON_H

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "proc_common.h"

/* Poll events as names ("IN OUT HUP"), "-" for none. */
static inline const char *evnames(unsigned ev)
{
    static char buf[128];
    buf[0] = 0;
    static const struct { unsigned bit; const char *name; } names[] = {
        {POLLIN, "IN"},   {POLLPRI, "PRI"}, {POLLOUT, "OUT"},     {POLLERR, "ERR"},
        {POLLHUP, "HUP"}, {POLLNVAL, "NVAL"}, {POLLRDHUP, "RDHUP"},
    };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ev & names[i].bit) {
            if (buf[0])
                strcat(buf, " ");
            strcat(buf, names[i].name);
        }
    return buf[0] ? buf : "-";
}

/* poll() of one descriptor, no waiting: the events (asking for everything). */
static inline unsigned pollnow(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLPRI | POLLOUT | POLLRDHUP, 0};
    int r = poll(&p, 1, 0);
    return r < 0 ? 0 : (unsigned)p.revents;
}

static inline void show_poll(const char *what, int fd)
{
    printf("%s: poll %s\n", what, evnames(pollnow(fd)));
}

/* An int socket option, or -errno. */
static inline int sockopt_int(int fd, int level, int name)
{
    int v = 0;
    socklen_t l = sizeof v;
    if (getsockopt(fd, level, name, &v, &l) < 0)
        return -errno;
    return v;
}

static inline void set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Sends an int, or receives one (-1 on failure). */
static inline void send_int(int fd, int v) { write_full(fd, &v, sizeof v); }
static inline int recv_int(int fd)
{
    int v = -1;
    return read_full(fd, &v, sizeof v) == sizeof v ? v : -1;
}

#endif
