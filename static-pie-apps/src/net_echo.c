/* net_echo: a TCP (and UDP) echo server for tests reached from outside.
 *
 *   net_echo PORT N [udp]
 *
 * Listens on 0.0.0.0:PORT, serves N connections one after the other (each echoed
 * until the client shuts its side down), then prints what it served and exits 0.
 * With `udp`, it echoes N datagrams on UDP PORT instead. It prints "listening"
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

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: net_echo PORT N [udp]\n");
        return 2;
    }
    int port = atoi(argv[1]), n = atoi(argv[2]);
    int udp = argc > 3 && strcmp(argv[3], "udp") == 0;
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
    close(s);
    printf("served %d, %ld bytes\n", n, total);
    return 0;
}
