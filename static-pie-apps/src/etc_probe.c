/* etc_probe: the lookups that read /etc, as servers make them at start-up
 * (nginx: getpwnam("nobody") and getgrnam; service and protocol names from
 * netbase's /etc/services and /etc/protocols). One line per lookup on stdout;
 * status 0, or 1 when a lookup a container image answers failed.
 *
 *   etc_probe certs   the CA bundle TLS clients read: its size, a hash of its
 *                     bytes and the number of certificates, or "absent" */
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

static int failed;

static void user(const char *name)
{
    struct passwd *p = getpwnam(name);
    if (!p) {
        printf("getpwnam(%s): none\n", name);
        failed = 1;
        return;
    }
    printf("getpwnam(%s): uid=%u gid=%u dir=%s\n", name, (unsigned)p->pw_uid, (unsigned)p->pw_gid, p->pw_dir);
}

static void group(const char *name)
{
    struct group *g = getgrnam(name);
    if (!g) {
        printf("getgrnam(%s): none\n", name);
        failed = 1;
        return;
    }
    printf("getgrnam(%s): gid=%u\n", name, (unsigned)g->gr_gid);
}

/* The CA bundle at Debian's path (where Go's crypto/x509 looks first). */
static int certs(void)
{
    FILE *f = fopen("/etc/ssl/certs/ca-certificates.crt", "r");
    if (!f) {
        printf("ca bundle: absent\n");
        return 0;
    }
    unsigned long long hash = 1469598103934665603ull, bytes = 0;
    unsigned count = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        for (const char *c = line; *c; c++) {
            hash = (hash ^ (unsigned char)*c) * 1099511628211ull;
            bytes++;
        }
        if (strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0)
            count++;
    }
    fclose(f);
    printf("ca bundle: %llu bytes, hash %016llx, %u certificates\n", bytes, hash, count);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "certs") == 0)
        return certs();
    user("root");
    user("nobody");
    group("root");
    group("nogroup");
    struct passwd *p = getpwuid(0);
    printf("getpwuid(0): %s\n", p ? p->pw_name : "none");

    char host[256] = "";
    if (gethostname(host, sizeof host) != 0)
        failed = 1;
    printf("hostname: %s\n", host);

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo("localhost", "80", &hints, &res);
    if (rc == 0 && res) {
        char addr[64];
        inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof addr);
        printf("getaddrinfo(localhost): %s\n", addr);
        freeaddrinfo(res);
    } else {
        printf("getaddrinfo(localhost): error %d\n", rc);
        failed = 1;
    }

    /* Names of services and protocols (what a host without netbase lacks: the
       output is compared with the native run, not required). */
    struct protoent *pe = getprotobyname("tcp");
    printf("getprotobyname(tcp): %d\n", pe ? pe->p_proto : -1);
    pe = getprotobynumber(17);
    printf("getprotobynumber(17): %s\n", pe ? pe->p_name : "none");
    struct servent *se = getservbyname("http", "tcp");
    printf("getservbyname(http/tcp): %d\n", se ? ntohs((uint16_t)se->s_port) : -1);
    se = getservbyport(htons(53), "udp");
    printf("getservbyport(53/udp): %s\n", se ? se->s_name : "none");
    res = NULL;
    rc = getaddrinfo("localhost", "https", &hints, &res);
    if (rc == 0 && res) {
        printf("getaddrinfo(localhost, https): port %d\n", ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port));
        freeaddrinfo(res);
    } else {
        printf("getaddrinfo(localhost, https): error %d\n", rc);
    }
    return failed;
}
