/* errname.h: errno values by their Linux names, for deterministic output
 * (strerror texts differ between glibc and musl). */
#ifndef ERRNAME_H
#define ERRNAME_H
#include <errno.h>
#include <stdio.h>

static const char *errname(int e)
{
    switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
    E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
    E(EMFILE) E(ENOTTY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK)
    E(EPIPE) E(ERANGE) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY) E(ELOOP)
    E(ENOKEY) E(EKEYREJECTED) E(EOPNOTSUPP) E(EDQUOT) E(ETXTBSY)
    E(EDEADLK) E(ENOLCK) E(ENOMSG) E(EIDRM) E(ENODATA) E(ETIMEDOUT)
    E(ECANCELED) E(EOVERFLOW) E(EMSGSIZE) E(ENOTSOCK) E(EBADMSG) E(ENOTBLK)
    E(EALREADY) E(EINPROGRESS) E(ESTALE) E(ENOTCONN)
    E(EDESTADDRREQ) E(EPROTOTYPE) E(ENOPROTOOPT) E(EPROTONOSUPPORT)
    E(ESOCKTNOSUPPORT) E(EPFNOSUPPORT) E(EAFNOSUPPORT) E(EADDRINUSE)
    E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH) E(ECONNABORTED) E(ECONNRESET)
    E(ENOBUFS) E(EISCONN) E(ECONNREFUSED) E(EHOSTUNREACH) E(EDOM)
#undef E
    case 0: return "OK";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno %d", e);
        return buf;
    }
    }
}
#endif
