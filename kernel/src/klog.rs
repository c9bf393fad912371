//! Kernel messages: `kprintln!` and the `log` facade, both on the kernel channel.
use core::sync::atomic::{AtomicUsize, Ordering};

/// Prints a line on the kernel channel.
macro_rules! kprintln {
    ($($arg:tt)*) => {
        $crate::klog::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints formatted text on the kernel channel.
pub fn print(args: core::fmt::Arguments<'_>) {
    elfin_plat::console::kprint(args);
}

struct Logger;
static LEVEL: AtomicUsize = AtomicUsize::new(2);

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        (m.level() as usize) <= LEVEL.load(Ordering::Relaxed)
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            print(format_args!("[{}] {}\n", r.level(), r.args()));
        }
    }
    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Installs the logger at the given level (1 = error … 5 = trace).
pub fn init(level: usize) {
    LEVEL.store(level, Ordering::Relaxed);
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(match level {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    });
}
