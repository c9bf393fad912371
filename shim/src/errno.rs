//! Linux error numbers: `Errno` with Linux's names and values, and `SysResult`.
//!
//! Values are those of `include/uapi/asm-generic/errno-base.h` and
//! `include/uapi/asm-generic/errno.h`, which x86_64 and arm64 share. The
//! descriptions are the `strerror` texts glibc prints. Linux leaves 41 and 58
//! unassigned (they were `EWOULDBLOCK` and `EDEADLOCK` elsewhere), so there are
//! 131 errnos.

/// The result of a system call handler: a value, or the errno Linux would return.
pub type SysResult<T> = Result<T, Errno>;

/// A Linux error number (1..=133, less the unassigned 41 and 58), named as in Linux's headers.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Errno {
    /// Operation not permitted
    EPERM = 1,
    /// No such file or directory
    ENOENT = 2,
    /// No such process
    ESRCH = 3,
    /// Interrupted system call
    EINTR = 4,
    /// Input/output error
    EIO = 5,
    /// No such device or address
    ENXIO = 6,
    /// Argument list too long
    E2BIG = 7,
    /// Exec format error
    ENOEXEC = 8,
    /// Bad file descriptor
    EBADF = 9,
    /// No child processes
    ECHILD = 10,
    /// Resource temporarily unavailable
    #[doc(alias = "EWOULDBLOCK")]
    EAGAIN = 11,
    /// Cannot allocate memory
    ENOMEM = 12,
    /// Permission denied
    EACCES = 13,
    /// Bad address
    EFAULT = 14,
    /// Block device required
    ENOTBLK = 15,
    /// Device or resource busy
    EBUSY = 16,
    /// File exists
    EEXIST = 17,
    /// Invalid cross-device link
    EXDEV = 18,
    /// No such device
    ENODEV = 19,
    /// Not a directory
    ENOTDIR = 20,
    /// Is a directory
    EISDIR = 21,
    /// Invalid argument
    EINVAL = 22,
    /// Too many open files in system
    ENFILE = 23,
    /// Too many open files
    EMFILE = 24,
    /// Inappropriate ioctl for device
    ENOTTY = 25,
    /// Text file busy
    ETXTBSY = 26,
    /// File too large
    EFBIG = 27,
    /// No space left on device
    ENOSPC = 28,
    /// Illegal seek
    ESPIPE = 29,
    /// Read-only file system
    EROFS = 30,
    /// Too many links
    EMLINK = 31,
    /// Broken pipe
    EPIPE = 32,
    /// Numerical argument out of domain
    EDOM = 33,
    /// Numerical result out of range
    ERANGE = 34,
    /// Resource deadlock avoided
    #[doc(alias = "EDEADLOCK")]
    EDEADLK = 35,
    /// File name too long
    ENAMETOOLONG = 36,
    /// No locks available
    ENOLCK = 37,
    /// Function not implemented
    ENOSYS = 38,
    /// Directory not empty
    ENOTEMPTY = 39,
    /// Too many levels of symbolic links
    ELOOP = 40,
    /// No message of desired type
    ENOMSG = 42,
    /// Identifier removed
    EIDRM = 43,
    /// Channel number out of range
    ECHRNG = 44,
    /// Level 2 not synchronized
    EL2NSYNC = 45,
    /// Level 3 halted
    EL3HLT = 46,
    /// Level 3 reset
    EL3RST = 47,
    /// Link number out of range
    ELNRNG = 48,
    /// Protocol driver not attached
    EUNATCH = 49,
    /// No CSI structure available
    ENOCSI = 50,
    /// Level 2 halted
    EL2HLT = 51,
    /// Invalid exchange
    EBADE = 52,
    /// Invalid request descriptor
    EBADR = 53,
    /// Exchange full
    EXFULL = 54,
    /// No anode
    ENOANO = 55,
    /// Invalid request code
    EBADRQC = 56,
    /// Invalid slot
    EBADSLT = 57,
    /// Bad font file format
    EBFONT = 59,
    /// Device not a stream
    ENOSTR = 60,
    /// No data available
    ENODATA = 61,
    /// Timer expired
    ETIME = 62,
    /// Out of streams resources
    ENOSR = 63,
    /// Machine is not on the network
    ENONET = 64,
    /// Package not installed
    ENOPKG = 65,
    /// Object is remote
    EREMOTE = 66,
    /// Link has been severed
    ENOLINK = 67,
    /// Advertise error
    EADV = 68,
    /// Srmount error
    ESRMNT = 69,
    /// Communication error on send
    ECOMM = 70,
    /// Protocol error
    EPROTO = 71,
    /// Multihop attempted
    EMULTIHOP = 72,
    /// RFS specific error
    EDOTDOT = 73,
    /// Bad message
    EBADMSG = 74,
    /// Value too large for defined data type
    EOVERFLOW = 75,
    /// Name not unique on network
    ENOTUNIQ = 76,
    /// File descriptor in bad state
    EBADFD = 77,
    /// Remote address changed
    EREMCHG = 78,
    /// Can not access a needed shared library
    ELIBACC = 79,
    /// Accessing a corrupted shared library
    ELIBBAD = 80,
    /// .lib section in a.out corrupted
    ELIBSCN = 81,
    /// Attempting to link in too many shared libraries
    ELIBMAX = 82,
    /// Cannot exec a shared library directly
    ELIBEXEC = 83,
    /// Invalid or incomplete multibyte or wide character
    EILSEQ = 84,
    /// Interrupted system call should be restarted
    ERESTART = 85,
    /// Streams pipe error
    ESTRPIPE = 86,
    /// Too many users
    EUSERS = 87,
    /// Socket operation on non-socket
    ENOTSOCK = 88,
    /// Destination address required
    EDESTADDRREQ = 89,
    /// Message too long
    EMSGSIZE = 90,
    /// Protocol wrong type for socket
    EPROTOTYPE = 91,
    /// Protocol not available
    ENOPROTOOPT = 92,
    /// Protocol not supported
    EPROTONOSUPPORT = 93,
    /// Socket type not supported
    ESOCKTNOSUPPORT = 94,
    /// Operation not supported
    #[doc(alias = "ENOTSUP")]
    EOPNOTSUPP = 95,
    /// Protocol family not supported
    EPFNOSUPPORT = 96,
    /// Address family not supported by protocol
    EAFNOSUPPORT = 97,
    /// Address already in use
    EADDRINUSE = 98,
    /// Cannot assign requested address
    EADDRNOTAVAIL = 99,
    /// Network is down
    ENETDOWN = 100,
    /// Network is unreachable
    ENETUNREACH = 101,
    /// Network dropped connection on reset
    ENETRESET = 102,
    /// Software caused connection abort
    ECONNABORTED = 103,
    /// Connection reset by peer
    ECONNRESET = 104,
    /// No buffer space available
    ENOBUFS = 105,
    /// Transport endpoint is already connected
    EISCONN = 106,
    /// Transport endpoint is not connected
    ENOTCONN = 107,
    /// Cannot send after transport endpoint shutdown
    ESHUTDOWN = 108,
    /// Too many references: cannot splice
    ETOOMANYREFS = 109,
    /// Connection timed out
    ETIMEDOUT = 110,
    /// Connection refused
    ECONNREFUSED = 111,
    /// Host is down
    EHOSTDOWN = 112,
    /// No route to host
    EHOSTUNREACH = 113,
    /// Operation already in progress
    EALREADY = 114,
    /// Operation now in progress
    EINPROGRESS = 115,
    /// Stale file handle
    ESTALE = 116,
    /// Structure needs cleaning
    EUCLEAN = 117,
    /// Not a XENIX named type file
    ENOTNAM = 118,
    /// No XENIX semaphores available
    ENAVAIL = 119,
    /// Is a named type file
    EISNAM = 120,
    /// Remote I/O error
    EREMOTEIO = 121,
    /// Disk quota exceeded
    EDQUOT = 122,
    /// No medium found
    ENOMEDIUM = 123,
    /// Wrong medium type
    EMEDIUMTYPE = 124,
    /// Operation canceled
    ECANCELED = 125,
    /// Required key not available
    ENOKEY = 126,
    /// Key has expired
    EKEYEXPIRED = 127,
    /// Key has been revoked
    EKEYREVOKED = 128,
    /// Key was rejected by service
    EKEYREJECTED = 129,
    /// Owner died
    EOWNERDEAD = 130,
    /// State not recoverable
    ENOTRECOVERABLE = 131,
    /// Operation not possible due to RF-kill
    ERFKILL = 132,
    /// Memory page has hardware error
    EHWPOISON = 133,
}

/// Every errno in numeric order.
const ALL: [Errno; 131] = [
    Errno::EPERM,
    Errno::ENOENT,
    Errno::ESRCH,
    Errno::EINTR,
    Errno::EIO,
    Errno::ENXIO,
    Errno::E2BIG,
    Errno::ENOEXEC,
    Errno::EBADF,
    Errno::ECHILD,
    Errno::EAGAIN,
    Errno::ENOMEM,
    Errno::EACCES,
    Errno::EFAULT,
    Errno::ENOTBLK,
    Errno::EBUSY,
    Errno::EEXIST,
    Errno::EXDEV,
    Errno::ENODEV,
    Errno::ENOTDIR,
    Errno::EISDIR,
    Errno::EINVAL,
    Errno::ENFILE,
    Errno::EMFILE,
    Errno::ENOTTY,
    Errno::ETXTBSY,
    Errno::EFBIG,
    Errno::ENOSPC,
    Errno::ESPIPE,
    Errno::EROFS,
    Errno::EMLINK,
    Errno::EPIPE,
    Errno::EDOM,
    Errno::ERANGE,
    Errno::EDEADLK,
    Errno::ENAMETOOLONG,
    Errno::ENOLCK,
    Errno::ENOSYS,
    Errno::ENOTEMPTY,
    Errno::ELOOP,
    Errno::ENOMSG,
    Errno::EIDRM,
    Errno::ECHRNG,
    Errno::EL2NSYNC,
    Errno::EL3HLT,
    Errno::EL3RST,
    Errno::ELNRNG,
    Errno::EUNATCH,
    Errno::ENOCSI,
    Errno::EL2HLT,
    Errno::EBADE,
    Errno::EBADR,
    Errno::EXFULL,
    Errno::ENOANO,
    Errno::EBADRQC,
    Errno::EBADSLT,
    Errno::EBFONT,
    Errno::ENOSTR,
    Errno::ENODATA,
    Errno::ETIME,
    Errno::ENOSR,
    Errno::ENONET,
    Errno::ENOPKG,
    Errno::EREMOTE,
    Errno::ENOLINK,
    Errno::EADV,
    Errno::ESRMNT,
    Errno::ECOMM,
    Errno::EPROTO,
    Errno::EMULTIHOP,
    Errno::EDOTDOT,
    Errno::EBADMSG,
    Errno::EOVERFLOW,
    Errno::ENOTUNIQ,
    Errno::EBADFD,
    Errno::EREMCHG,
    Errno::ELIBACC,
    Errno::ELIBBAD,
    Errno::ELIBSCN,
    Errno::ELIBMAX,
    Errno::ELIBEXEC,
    Errno::EILSEQ,
    Errno::ERESTART,
    Errno::ESTRPIPE,
    Errno::EUSERS,
    Errno::ENOTSOCK,
    Errno::EDESTADDRREQ,
    Errno::EMSGSIZE,
    Errno::EPROTOTYPE,
    Errno::ENOPROTOOPT,
    Errno::EPROTONOSUPPORT,
    Errno::ESOCKTNOSUPPORT,
    Errno::EOPNOTSUPP,
    Errno::EPFNOSUPPORT,
    Errno::EAFNOSUPPORT,
    Errno::EADDRINUSE,
    Errno::EADDRNOTAVAIL,
    Errno::ENETDOWN,
    Errno::ENETUNREACH,
    Errno::ENETRESET,
    Errno::ECONNABORTED,
    Errno::ECONNRESET,
    Errno::ENOBUFS,
    Errno::EISCONN,
    Errno::ENOTCONN,
    Errno::ESHUTDOWN,
    Errno::ETOOMANYREFS,
    Errno::ETIMEDOUT,
    Errno::ECONNREFUSED,
    Errno::EHOSTDOWN,
    Errno::EHOSTUNREACH,
    Errno::EALREADY,
    Errno::EINPROGRESS,
    Errno::ESTALE,
    Errno::EUCLEAN,
    Errno::ENOTNAM,
    Errno::ENAVAIL,
    Errno::EISNAM,
    Errno::EREMOTEIO,
    Errno::EDQUOT,
    Errno::ENOMEDIUM,
    Errno::EMEDIUMTYPE,
    Errno::ECANCELED,
    Errno::ENOKEY,
    Errno::EKEYEXPIRED,
    Errno::EKEYREVOKED,
    Errno::EKEYREJECTED,
    Errno::EOWNERDEAD,
    Errno::ENOTRECOVERABLE,
    Errno::ERFKILL,
    Errno::EHWPOISON,
];

impl Errno {
    /// Alias of [`Errno::EAGAIN`], as in Linux's headers.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// Alias of [`Errno::EDEADLK`], as in Linux's headers.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    /// Alias of [`Errno::EOPNOTSUPP`], as in Linux's headers.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The smallest errno value Linux defines.
    pub const MIN: i32 = 1;
    /// The largest errno value Linux defines (`EHWPOISON`).
    pub const MAX: i32 = 133;

    /// The positive Linux value of this errno.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// The errno for a positive Linux value, or `None` if Linux assigns it none.
    pub const fn from_i32(v: i32) -> Option<Errno> {
        Some(match v {
            1 => Errno::EPERM,
            2 => Errno::ENOENT,
            3 => Errno::ESRCH,
            4 => Errno::EINTR,
            5 => Errno::EIO,
            6 => Errno::ENXIO,
            7 => Errno::E2BIG,
            8 => Errno::ENOEXEC,
            9 => Errno::EBADF,
            10 => Errno::ECHILD,
            11 => Errno::EAGAIN,
            12 => Errno::ENOMEM,
            13 => Errno::EACCES,
            14 => Errno::EFAULT,
            15 => Errno::ENOTBLK,
            16 => Errno::EBUSY,
            17 => Errno::EEXIST,
            18 => Errno::EXDEV,
            19 => Errno::ENODEV,
            20 => Errno::ENOTDIR,
            21 => Errno::EISDIR,
            22 => Errno::EINVAL,
            23 => Errno::ENFILE,
            24 => Errno::EMFILE,
            25 => Errno::ENOTTY,
            26 => Errno::ETXTBSY,
            27 => Errno::EFBIG,
            28 => Errno::ENOSPC,
            29 => Errno::ESPIPE,
            30 => Errno::EROFS,
            31 => Errno::EMLINK,
            32 => Errno::EPIPE,
            33 => Errno::EDOM,
            34 => Errno::ERANGE,
            35 => Errno::EDEADLK,
            36 => Errno::ENAMETOOLONG,
            37 => Errno::ENOLCK,
            38 => Errno::ENOSYS,
            39 => Errno::ENOTEMPTY,
            40 => Errno::ELOOP,
            42 => Errno::ENOMSG,
            43 => Errno::EIDRM,
            44 => Errno::ECHRNG,
            45 => Errno::EL2NSYNC,
            46 => Errno::EL3HLT,
            47 => Errno::EL3RST,
            48 => Errno::ELNRNG,
            49 => Errno::EUNATCH,
            50 => Errno::ENOCSI,
            51 => Errno::EL2HLT,
            52 => Errno::EBADE,
            53 => Errno::EBADR,
            54 => Errno::EXFULL,
            55 => Errno::ENOANO,
            56 => Errno::EBADRQC,
            57 => Errno::EBADSLT,
            59 => Errno::EBFONT,
            60 => Errno::ENOSTR,
            61 => Errno::ENODATA,
            62 => Errno::ETIME,
            63 => Errno::ENOSR,
            64 => Errno::ENONET,
            65 => Errno::ENOPKG,
            66 => Errno::EREMOTE,
            67 => Errno::ENOLINK,
            68 => Errno::EADV,
            69 => Errno::ESRMNT,
            70 => Errno::ECOMM,
            71 => Errno::EPROTO,
            72 => Errno::EMULTIHOP,
            73 => Errno::EDOTDOT,
            74 => Errno::EBADMSG,
            75 => Errno::EOVERFLOW,
            76 => Errno::ENOTUNIQ,
            77 => Errno::EBADFD,
            78 => Errno::EREMCHG,
            79 => Errno::ELIBACC,
            80 => Errno::ELIBBAD,
            81 => Errno::ELIBSCN,
            82 => Errno::ELIBMAX,
            83 => Errno::ELIBEXEC,
            84 => Errno::EILSEQ,
            85 => Errno::ERESTART,
            86 => Errno::ESTRPIPE,
            87 => Errno::EUSERS,
            88 => Errno::ENOTSOCK,
            89 => Errno::EDESTADDRREQ,
            90 => Errno::EMSGSIZE,
            91 => Errno::EPROTOTYPE,
            92 => Errno::ENOPROTOOPT,
            93 => Errno::EPROTONOSUPPORT,
            94 => Errno::ESOCKTNOSUPPORT,
            95 => Errno::EOPNOTSUPP,
            96 => Errno::EPFNOSUPPORT,
            97 => Errno::EAFNOSUPPORT,
            98 => Errno::EADDRINUSE,
            99 => Errno::EADDRNOTAVAIL,
            100 => Errno::ENETDOWN,
            101 => Errno::ENETUNREACH,
            102 => Errno::ENETRESET,
            103 => Errno::ECONNABORTED,
            104 => Errno::ECONNRESET,
            105 => Errno::ENOBUFS,
            106 => Errno::EISCONN,
            107 => Errno::ENOTCONN,
            108 => Errno::ESHUTDOWN,
            109 => Errno::ETOOMANYREFS,
            110 => Errno::ETIMEDOUT,
            111 => Errno::ECONNREFUSED,
            112 => Errno::EHOSTDOWN,
            113 => Errno::EHOSTUNREACH,
            114 => Errno::EALREADY,
            115 => Errno::EINPROGRESS,
            116 => Errno::ESTALE,
            117 => Errno::EUCLEAN,
            118 => Errno::ENOTNAM,
            119 => Errno::ENAVAIL,
            120 => Errno::EISNAM,
            121 => Errno::EREMOTEIO,
            122 => Errno::EDQUOT,
            123 => Errno::ENOMEDIUM,
            124 => Errno::EMEDIUMTYPE,
            125 => Errno::ECANCELED,
            126 => Errno::ENOKEY,
            127 => Errno::EKEYEXPIRED,
            128 => Errno::EKEYREVOKED,
            129 => Errno::EKEYREJECTED,
            130 => Errno::EOWNERDEAD,
            131 => Errno::ENOTRECOVERABLE,
            132 => Errno::ERFKILL,
            133 => Errno::EHWPOISON,
            _ => return None,
        })
    }

    /// Every errno, in numeric order.
    pub fn all() -> impl Iterator<Item = Errno> {
        ALL.iter().copied()
    }

    /// Linux's name for this errno, e.g. `"ENOENT"`.
    pub fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::ESRCH => "ESRCH",
            Errno::EINTR => "EINTR",
            Errno::EIO => "EIO",
            Errno::ENXIO => "ENXIO",
            Errno::E2BIG => "E2BIG",
            Errno::ENOEXEC => "ENOEXEC",
            Errno::EBADF => "EBADF",
            Errno::ECHILD => "ECHILD",
            Errno::EAGAIN => "EAGAIN",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EFAULT => "EFAULT",
            Errno::ENOTBLK => "ENOTBLK",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::EXDEV => "EXDEV",
            Errno::ENODEV => "ENODEV",
            Errno::ENOTDIR => "ENOTDIR",
            Errno::EISDIR => "EISDIR",
            Errno::EINVAL => "EINVAL",
            Errno::ENFILE => "ENFILE",
            Errno::EMFILE => "EMFILE",
            Errno::ENOTTY => "ENOTTY",
            Errno::ETXTBSY => "ETXTBSY",
            Errno::EFBIG => "EFBIG",
            Errno::ENOSPC => "ENOSPC",
            Errno::ESPIPE => "ESPIPE",
            Errno::EROFS => "EROFS",
            Errno::EMLINK => "EMLINK",
            Errno::EPIPE => "EPIPE",
            Errno::EDOM => "EDOM",
            Errno::ERANGE => "ERANGE",
            Errno::EDEADLK => "EDEADLK",
            Errno::ENAMETOOLONG => "ENAMETOOLONG",
            Errno::ENOLCK => "ENOLCK",
            Errno::ENOSYS => "ENOSYS",
            Errno::ENOTEMPTY => "ENOTEMPTY",
            Errno::ELOOP => "ELOOP",
            Errno::ENOMSG => "ENOMSG",
            Errno::EIDRM => "EIDRM",
            Errno::ECHRNG => "ECHRNG",
            Errno::EL2NSYNC => "EL2NSYNC",
            Errno::EL3HLT => "EL3HLT",
            Errno::EL3RST => "EL3RST",
            Errno::ELNRNG => "ELNRNG",
            Errno::EUNATCH => "EUNATCH",
            Errno::ENOCSI => "ENOCSI",
            Errno::EL2HLT => "EL2HLT",
            Errno::EBADE => "EBADE",
            Errno::EBADR => "EBADR",
            Errno::EXFULL => "EXFULL",
            Errno::ENOANO => "ENOANO",
            Errno::EBADRQC => "EBADRQC",
            Errno::EBADSLT => "EBADSLT",
            Errno::EBFONT => "EBFONT",
            Errno::ENOSTR => "ENOSTR",
            Errno::ENODATA => "ENODATA",
            Errno::ETIME => "ETIME",
            Errno::ENOSR => "ENOSR",
            Errno::ENONET => "ENONET",
            Errno::ENOPKG => "ENOPKG",
            Errno::EREMOTE => "EREMOTE",
            Errno::ENOLINK => "ENOLINK",
            Errno::EADV => "EADV",
            Errno::ESRMNT => "ESRMNT",
            Errno::ECOMM => "ECOMM",
            Errno::EPROTO => "EPROTO",
            Errno::EMULTIHOP => "EMULTIHOP",
            Errno::EDOTDOT => "EDOTDOT",
            Errno::EBADMSG => "EBADMSG",
            Errno::EOVERFLOW => "EOVERFLOW",
            Errno::ENOTUNIQ => "ENOTUNIQ",
            Errno::EBADFD => "EBADFD",
            Errno::EREMCHG => "EREMCHG",
            Errno::ELIBACC => "ELIBACC",
            Errno::ELIBBAD => "ELIBBAD",
            Errno::ELIBSCN => "ELIBSCN",
            Errno::ELIBMAX => "ELIBMAX",
            Errno::ELIBEXEC => "ELIBEXEC",
            Errno::EILSEQ => "EILSEQ",
            Errno::ERESTART => "ERESTART",
            Errno::ESTRPIPE => "ESTRPIPE",
            Errno::EUSERS => "EUSERS",
            Errno::ENOTSOCK => "ENOTSOCK",
            Errno::EDESTADDRREQ => "EDESTADDRREQ",
            Errno::EMSGSIZE => "EMSGSIZE",
            Errno::EPROTOTYPE => "EPROTOTYPE",
            Errno::ENOPROTOOPT => "ENOPROTOOPT",
            Errno::EPROTONOSUPPORT => "EPROTONOSUPPORT",
            Errno::ESOCKTNOSUPPORT => "ESOCKTNOSUPPORT",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::EPFNOSUPPORT => "EPFNOSUPPORT",
            Errno::EAFNOSUPPORT => "EAFNOSUPPORT",
            Errno::EADDRINUSE => "EADDRINUSE",
            Errno::EADDRNOTAVAIL => "EADDRNOTAVAIL",
            Errno::ENETDOWN => "ENETDOWN",
            Errno::ENETUNREACH => "ENETUNREACH",
            Errno::ENETRESET => "ENETRESET",
            Errno::ECONNABORTED => "ECONNABORTED",
            Errno::ECONNRESET => "ECONNRESET",
            Errno::ENOBUFS => "ENOBUFS",
            Errno::EISCONN => "EISCONN",
            Errno::ENOTCONN => "ENOTCONN",
            Errno::ESHUTDOWN => "ESHUTDOWN",
            Errno::ETOOMANYREFS => "ETOOMANYREFS",
            Errno::ETIMEDOUT => "ETIMEDOUT",
            Errno::ECONNREFUSED => "ECONNREFUSED",
            Errno::EHOSTDOWN => "EHOSTDOWN",
            Errno::EHOSTUNREACH => "EHOSTUNREACH",
            Errno::EALREADY => "EALREADY",
            Errno::EINPROGRESS => "EINPROGRESS",
            Errno::ESTALE => "ESTALE",
            Errno::EUCLEAN => "EUCLEAN",
            Errno::ENOTNAM => "ENOTNAM",
            Errno::ENAVAIL => "ENAVAIL",
            Errno::EISNAM => "EISNAM",
            Errno::EREMOTEIO => "EREMOTEIO",
            Errno::EDQUOT => "EDQUOT",
            Errno::ENOMEDIUM => "ENOMEDIUM",
            Errno::EMEDIUMTYPE => "EMEDIUMTYPE",
            Errno::ECANCELED => "ECANCELED",
            Errno::ENOKEY => "ENOKEY",
            Errno::EKEYEXPIRED => "EKEYEXPIRED",
            Errno::EKEYREVOKED => "EKEYREVOKED",
            Errno::EKEYREJECTED => "EKEYREJECTED",
            Errno::EOWNERDEAD => "EOWNERDEAD",
            Errno::ENOTRECOVERABLE => "ENOTRECOVERABLE",
            Errno::ERFKILL => "ERFKILL",
            Errno::EHWPOISON => "EHWPOISON",
        }
    }

    /// The message glibc's `strerror` gives, e.g. `"No such file or directory"`.
    pub fn description(self) -> &'static str {
        match self {
            Errno::EPERM => "Operation not permitted",
            Errno::ENOENT => "No such file or directory",
            Errno::ESRCH => "No such process",
            Errno::EINTR => "Interrupted system call",
            Errno::EIO => "Input/output error",
            Errno::ENXIO => "No such device or address",
            Errno::E2BIG => "Argument list too long",
            Errno::ENOEXEC => "Exec format error",
            Errno::EBADF => "Bad file descriptor",
            Errno::ECHILD => "No child processes",
            Errno::EAGAIN => "Resource temporarily unavailable",
            Errno::ENOMEM => "Cannot allocate memory",
            Errno::EACCES => "Permission denied",
            Errno::EFAULT => "Bad address",
            Errno::ENOTBLK => "Block device required",
            Errno::EBUSY => "Device or resource busy",
            Errno::EEXIST => "File exists",
            Errno::EXDEV => "Invalid cross-device link",
            Errno::ENODEV => "No such device",
            Errno::ENOTDIR => "Not a directory",
            Errno::EISDIR => "Is a directory",
            Errno::EINVAL => "Invalid argument",
            Errno::ENFILE => "Too many open files in system",
            Errno::EMFILE => "Too many open files",
            Errno::ENOTTY => "Inappropriate ioctl for device",
            Errno::ETXTBSY => "Text file busy",
            Errno::EFBIG => "File too large",
            Errno::ENOSPC => "No space left on device",
            Errno::ESPIPE => "Illegal seek",
            Errno::EROFS => "Read-only file system",
            Errno::EMLINK => "Too many links",
            Errno::EPIPE => "Broken pipe",
            Errno::EDOM => "Numerical argument out of domain",
            Errno::ERANGE => "Numerical result out of range",
            Errno::EDEADLK => "Resource deadlock avoided",
            Errno::ENAMETOOLONG => "File name too long",
            Errno::ENOLCK => "No locks available",
            Errno::ENOSYS => "Function not implemented",
            Errno::ENOTEMPTY => "Directory not empty",
            Errno::ELOOP => "Too many levels of symbolic links",
            Errno::ENOMSG => "No message of desired type",
            Errno::EIDRM => "Identifier removed",
            Errno::ECHRNG => "Channel number out of range",
            Errno::EL2NSYNC => "Level 2 not synchronized",
            Errno::EL3HLT => "Level 3 halted",
            Errno::EL3RST => "Level 3 reset",
            Errno::ELNRNG => "Link number out of range",
            Errno::EUNATCH => "Protocol driver not attached",
            Errno::ENOCSI => "No CSI structure available",
            Errno::EL2HLT => "Level 2 halted",
            Errno::EBADE => "Invalid exchange",
            Errno::EBADR => "Invalid request descriptor",
            Errno::EXFULL => "Exchange full",
            Errno::ENOANO => "No anode",
            Errno::EBADRQC => "Invalid request code",
            Errno::EBADSLT => "Invalid slot",
            Errno::EBFONT => "Bad font file format",
            Errno::ENOSTR => "Device not a stream",
            Errno::ENODATA => "No data available",
            Errno::ETIME => "Timer expired",
            Errno::ENOSR => "Out of streams resources",
            Errno::ENONET => "Machine is not on the network",
            Errno::ENOPKG => "Package not installed",
            Errno::EREMOTE => "Object is remote",
            Errno::ENOLINK => "Link has been severed",
            Errno::EADV => "Advertise error",
            Errno::ESRMNT => "Srmount error",
            Errno::ECOMM => "Communication error on send",
            Errno::EPROTO => "Protocol error",
            Errno::EMULTIHOP => "Multihop attempted",
            Errno::EDOTDOT => "RFS specific error",
            Errno::EBADMSG => "Bad message",
            Errno::EOVERFLOW => "Value too large for defined data type",
            Errno::ENOTUNIQ => "Name not unique on network",
            Errno::EBADFD => "File descriptor in bad state",
            Errno::EREMCHG => "Remote address changed",
            Errno::ELIBACC => "Can not access a needed shared library",
            Errno::ELIBBAD => "Accessing a corrupted shared library",
            Errno::ELIBSCN => ".lib section in a.out corrupted",
            Errno::ELIBMAX => "Attempting to link in too many shared libraries",
            Errno::ELIBEXEC => "Cannot exec a shared library directly",
            Errno::EILSEQ => "Invalid or incomplete multibyte or wide character",
            Errno::ERESTART => "Interrupted system call should be restarted",
            Errno::ESTRPIPE => "Streams pipe error",
            Errno::EUSERS => "Too many users",
            Errno::ENOTSOCK => "Socket operation on non-socket",
            Errno::EDESTADDRREQ => "Destination address required",
            Errno::EMSGSIZE => "Message too long",
            Errno::EPROTOTYPE => "Protocol wrong type for socket",
            Errno::ENOPROTOOPT => "Protocol not available",
            Errno::EPROTONOSUPPORT => "Protocol not supported",
            Errno::ESOCKTNOSUPPORT => "Socket type not supported",
            Errno::EOPNOTSUPP => "Operation not supported",
            Errno::EPFNOSUPPORT => "Protocol family not supported",
            Errno::EAFNOSUPPORT => "Address family not supported by protocol",
            Errno::EADDRINUSE => "Address already in use",
            Errno::EADDRNOTAVAIL => "Cannot assign requested address",
            Errno::ENETDOWN => "Network is down",
            Errno::ENETUNREACH => "Network is unreachable",
            Errno::ENETRESET => "Network dropped connection on reset",
            Errno::ECONNABORTED => "Software caused connection abort",
            Errno::ECONNRESET => "Connection reset by peer",
            Errno::ENOBUFS => "No buffer space available",
            Errno::EISCONN => "Transport endpoint is already connected",
            Errno::ENOTCONN => "Transport endpoint is not connected",
            Errno::ESHUTDOWN => "Cannot send after transport endpoint shutdown",
            Errno::ETOOMANYREFS => "Too many references: cannot splice",
            Errno::ETIMEDOUT => "Connection timed out",
            Errno::ECONNREFUSED => "Connection refused",
            Errno::EHOSTDOWN => "Host is down",
            Errno::EHOSTUNREACH => "No route to host",
            Errno::EALREADY => "Operation already in progress",
            Errno::EINPROGRESS => "Operation now in progress",
            Errno::ESTALE => "Stale file handle",
            Errno::EUCLEAN => "Structure needs cleaning",
            Errno::ENOTNAM => "Not a XENIX named type file",
            Errno::ENAVAIL => "No XENIX semaphores available",
            Errno::EISNAM => "Is a named type file",
            Errno::EREMOTEIO => "Remote I/O error",
            Errno::EDQUOT => "Disk quota exceeded",
            Errno::ENOMEDIUM => "No medium found",
            Errno::EMEDIUMTYPE => "Wrong medium type",
            Errno::ECANCELED => "Operation canceled",
            Errno::ENOKEY => "Required key not available",
            Errno::EKEYEXPIRED => "Key has expired",
            Errno::EKEYREVOKED => "Key has been revoked",
            Errno::EKEYREJECTED => "Key was rejected by service",
            Errno::EOWNERDEAD => "Owner died",
            Errno::ENOTRECOVERABLE => "State not recoverable",
            Errno::ERFKILL => "Operation not possible due to RF-kill",
            Errno::EHWPOISON => "Memory page has hardware error",
        }
    }
}

impl core::fmt::Display for Errno {
    /// Formats as `ENOENT (No such file or directory)`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

impl From<Errno> for i32 {
    /// The positive Linux value.
    fn from(e: Errno) -> i32 {
        e.as_i32()
    }
}

impl TryFrom<i32> for Errno {
    type Error = i32;

    /// The errno for a positive Linux value; the value back if it names none.
    fn try_from(v: i32) -> Result<Errno, i32> {
        Errno::from_i32(v).ok_or(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_dense_and_round_trip() {
        for v in (Errno::MIN..=Errno::MAX).filter(|v| *v != 41 && *v != 58) {
            let e = Errno::from_i32(v).expect("every assigned value is an errno");
            assert_eq!(e.as_i32(), v);
            assert_eq!(i32::from(e), v);
            assert_eq!(Errno::try_from(v), Ok(e));
        }
        assert_eq!(Errno::all().count(), 131);
        for (i, e) in Errno::all().enumerate() {
            assert_eq!(Errno::from_i32(e.as_i32()), Some(e), "index {i}");
        }
    }

    #[test]
    fn out_of_range_is_none() {
        for v in [i32::MIN, -1, 0, 41, 58, 134, 4095, i32::MAX] {
            assert_eq!(Errno::from_i32(v), None);
            assert_eq!(Errno::try_from(v), Err(v));
        }
    }

    #[test]
    fn names_are_linux_names() {
        assert_eq!(Errno::EPERM.name(), "EPERM");
        assert_eq!(Errno::ENOENT.name(), "ENOENT");
        assert_eq!(Errno::ENOSYS.as_i32(), 38);
        assert_eq!(Errno::EAGAIN.as_i32(), 11);
        assert_eq!(Errno::ENOTSUP, Errno::EOPNOTSUPP);
        assert_eq!(Errno::EOPNOTSUPP.as_i32(), 95);
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::EDEADLOCK, Errno::EDEADLK);
        assert_eq!(Errno::EHWPOISON.as_i32(), 133);
        for e in Errno::all() {
            assert!(e.name().starts_with('E'), "{e:?}");
            assert_eq!(format!("{e:?}"), e.name());
            assert!(!e.description().is_empty());
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = Errno::all().map(Errno::name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 131);
    }

    #[test]
    fn descriptions_match_glibc() {
        assert_eq!(Errno::ENOENT.description(), "No such file or directory");
        assert_eq!(Errno::EAGAIN.description(), "Resource temporarily unavailable");
        assert_eq!(Errno::ENOSYS.description(), "Function not implemented");
        assert_eq!(Errno::ENOTTY.description(), "Inappropriate ioctl for device");
        assert_eq!(Errno::ENOENT.to_string(), "ENOENT (No such file or directory)");
    }
}
