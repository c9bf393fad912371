/* net_echo: a TCP (and UDP) echo server for tests reached from outside.
 *
 *   net_echo PORT N [udp | send BYTES]
 *
 * Listens on 0.0.0.0:PORT, serves N connections one after the other (each echoed
 * until the client shuts its side down), then prints what it served and exits 0.
 * With `udp`, it echoes N datagrams on UDP PORT instead. With `send BYTES`, it
 * reads nothing: it writes BYTES bytes (byte i is i * 31 mod 256) to each
 * connection, in writes of 1000 bytes as a server answering line by line does
 * (the last 100 bytes of each in two writes after all the rest), and exits with
 * the connections still open, so that what reaches the client depends on the
 * system sending the rest after the program has ended. It prints "listening"
 * (flushed) once it accepts connections, so that a test knows when to connect.
 * Clients' addresses and ports are not printed (they differ between runs). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "errname.h"

static void die(const char *what)
{
    printf("%s: %s\n", what, errname(errno));
    exit(1);
}

/* Writes bytes [from, to) of the `send` pattern to c, in writes of at most 1000. */
static void send_pattern(int c, long from, long to)
{
    char chunk[1000];
    for (long off = from; off < to;) {
        size_t k = to - off < 1000 ? (size_t)(to - off) : 1000;
        for (size_t j = 0; j < k; j++)
            chunk[j] = (char)((off + (long)j) * 31);
        ssize_t w = write(c, chunk, k);
        if (w <= 0)
            die("write");
        off += w;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: net_echo PORT N [udp | send BYTES]\n");
        return 2;
    }
    int port = atoi(argv[1]), n = atoi(argv[2]);
    int udp = argc > 3 && strcmp(argv[3], "udp") == 0;
    long send_bytes = argc > 4 && strcmp(argv[3], "send") == 0 ? atol(argv[4]) : -1;
    long bulk = send_bytes > 100 ? send_bytes - 100 : 0;
    static int conns[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    int s = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind");
    if (!udp && listen(s, 16) < 0)
        die("listen");
    printf("listening\n");
    static char buf[65536];
    long total = 0;
    for (int i = 0; i < n; i++) {
        if (udp) {
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t k = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (k < 0)
                die("recvfrom");
            if (sendto(s, buf, (size_t)k, 0, (struct sockaddr *)&from, fl) != k)
                die("sendto");
            printf("datagram %d: %zd bytes\n", i, k);
            total += k;
            continue;
        }
        int c = accept(s, NULL, NULL);
        if (c < 0)
            die("accept");
        if (send_bytes >= 0) {
            if (i < (int)(sizeof conns / sizeof conns[0]))
                conns[i] = c;
            send_pattern(c, 0, bulk);
            printf("connection %d: sent %ld bytes\n", i, send_bytes);
            total += send_bytes;
            continue;
        }
        long got = 0;
        for (;;) {
            ssize_t k = read(c, buf, sizeof buf);
            if (k < 0)
                die("read");
            if (k == 0)
                break;
            for (ssize_t off = 0; off < k;) {
                ssize_t w = write(c, buf + off, (size_t)(k - off));
                if (w <= 0)
                    die("write");
                off += w;
            }
            got += k;
        }
        close(c);
        printf("connection %d: %ld bytes\n", i, got);
        total += got;
    }
    if (send_bytes >= 0) {
        /* The tails, in two small writes per connection after all the bulk:
         * the second waits (Nagle) for the first to be acknowledged. */
        int kept = n < (int)(sizeof conns / sizeof conns[0]) ? n : (int)(sizeof conns / sizeof conns[0]);
        for (int i = 0; i < kept; i++)
            send_pattern(conns[i], bulk, bulk + (send_bytes - bulk) / 2);
        for (int i = 0; i < kept; i++)
            send_pattern(conns[i], bulk + (send_bytes - bulk) / 2, send_bytes);
    }
    printf("served %d, %ld bytes\n", n, total);
    if (send_bytes >= 0)
        return 0;
    close(s);
    return 0;
}
