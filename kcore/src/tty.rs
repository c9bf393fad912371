//! A terminal line discipline, as Linux's `n_tty` does it: input processing
//! (CR/NL translation, canonical line editing, echo, the signal characters) and
//! output processing (`OPOST`). Pure: bytes in, bytes out, the signal to raise
//! as a return value; the kernel wires it to the console and the process groups.
//!
//! The order of the checks, what is echoed and how an erase is drawn follow
//! `drivers/tty/n_tty.c` (`n_tty_receive_char_special`, `eraser`,
//! `do_output_char`). Not modelled: parity and break handling (`PARMRK`,
//! `BRKINT`: the console carries no line errors), `ECHOPRT`, `IUCLC`/`OLCUC`,
//! and stopping output on `VSTOP` (the character is consumed, output goes on).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Number of control characters in the kernel's `termios`.
pub const NCCS: usize = 19;
/// `c_cc` indexes (asm-generic/termbits.h, the same on x86_64 and arm64).
pub const VINTR: usize = 0;
/// `c_cc`: quit (SIGQUIT).
pub const VQUIT: usize = 1;
/// `c_cc`: erase a character.
pub const VERASE: usize = 2;
/// `c_cc`: erase the line.
pub const VKILL: usize = 3;
/// `c_cc`: end of file.
pub const VEOF: usize = 4;
/// `c_cc`: non-canonical read timeout, in tenths of a second.
pub const VTIME: usize = 5;
/// `c_cc`: non-canonical read minimum.
pub const VMIN: usize = 6;
/// `c_cc`: resume output.
pub const VSTART: usize = 8;
/// `c_cc`: stop output.
pub const VSTOP: usize = 9;
/// `c_cc`: suspend (SIGTSTP).
pub const VSUSP: usize = 10;
/// `c_cc`: extra end of line.
pub const VEOL: usize = 11;
/// `c_cc`: reprint the line.
pub const VREPRINT: usize = 12;
/// `c_cc`: erase a word.
pub const VWERASE: usize = 14;
/// `c_cc`: take the next character literally.
pub const VLNEXT: usize = 15;
/// `c_cc`: second extra end of line.
pub const VEOL2: usize = 16;

/// `c_iflag`: strip the eighth bit.
pub const ISTRIP: u32 = 0o40;
/// `c_iflag`: NL to CR.
pub const INLCR: u32 = 0o100;
/// `c_iflag`: ignore CR.
pub const IGNCR: u32 = 0o200;
/// `c_iflag`: CR to NL.
pub const ICRNL: u32 = 0o400;
/// `c_iflag`: XON/XOFF output flow control.
pub const IXON: u32 = 0o2000;
/// `c_iflag`: input is UTF-8 (an erase takes a whole character).
pub const IUTF8: u32 = 0o40000;
/// `c_oflag`: post-process output.
pub const OPOST: u32 = 0o1;
/// `c_oflag`: NL to CR-NL.
pub const ONLCR: u32 = 0o4;
/// `c_oflag`: CR to NL.
pub const OCRNL: u32 = 0o10;
/// `c_oflag`: no CR at column 0.
pub const ONOCR: u32 = 0o20;
/// `c_oflag`: NL also returns the carriage.
pub const ONLRET: u32 = 0o40;
/// `c_oflag`: tabs expanded to spaces (`TAB3`).
pub const XTABS: u32 = 0o14000;
/// `c_lflag`: the signal characters raise signals.
pub const ISIG: u32 = 0o1;
/// `c_lflag`: canonical (line by line) input.
pub const ICANON: u32 = 0o2;
/// `c_lflag`: echo input.
pub const ECHO: u32 = 0o10;
/// `c_lflag`: ERASE erases the character on screen.
pub const ECHOE: u32 = 0o20;
/// `c_lflag`: KILL is followed by a newline.
pub const ECHOK: u32 = 0o40;
/// `c_lflag`: echo NL even without ECHO.
pub const ECHONL: u32 = 0o100;
/// `c_lflag`: no flush of the input on a signal character.
pub const NOFLSH: u32 = 0o200;
/// `c_lflag`: control characters echo as `^X`.
pub const ECHOCTL: u32 = 0o1000;
/// `c_lflag`: KILL erases the line on screen.
pub const ECHOKE: u32 = 0o4000;
/// `c_lflag`: the extended characters (WERASE, LNEXT, EOL2, REPRINT).
pub const IEXTEN: u32 = 0o100000;

/// SIGINT, SIGQUIT and SIGTSTP (the same numbers on x86_64 and arm64).
pub const SIGINT: u32 = 2;
/// SIGQUIT.
pub const SIGQUIT: u32 = 3;
/// SIGTSTP.
pub const SIGTSTP: u32 = 20;

/// What the input queue holds at most, as Linux's `N_TTY_BUF_SIZE` less one.
pub const QUEUE_MAX: usize = 4095;

/// The modes of a terminal (the parts of `struct termios` the line discipline reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modes {
    /// Input modes.
    pub iflag: u32,
    /// Output modes.
    pub oflag: u32,
    /// Local modes.
    pub lflag: u32,
    /// Control characters; 0 disables one (`_POSIX_VDISABLE`).
    pub cc: [u8; NCCS],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kill {
    Erase,
    Werase,
    Line,
}

/// A terminal's line discipline.
#[derive(Debug)]
pub struct Ldisc {
    modes: Modes,
    /// Bytes read(2) may take: in canonical mode only completed lines.
    ready: VecDeque<u8>,
    /// Canonical mode: the lengths of the lines in `ready`, oldest first (a line
    /// ended by VEOF has no terminator and may be empty: a read then returns 0).
    lines: VecDeque<usize>,
    /// Canonical mode: the line being edited.
    edit: Vec<u8>,
    /// The previous character was VLNEXT.
    lnext: bool,
    /// The output column, for erasing tabs and `ONOCR`.
    column: usize,
    /// The column where the line being edited started.
    canon_column: usize,
}

fn is_cntrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

fn has(flags: u32, f: u32) -> bool {
    flags & f != 0
}

impl Ldisc {
    /// A line discipline with these modes and nothing queued.
    pub fn new(modes: Modes) -> Ldisc {
        Ldisc {
            modes,
            ready: VecDeque::new(),
            lines: VecDeque::new(),
            edit: Vec::new(),
            lnext: false,
            column: 0,
            canon_column: 0,
        }
    }

    /// The current modes.
    pub fn modes(&self) -> Modes {
        self.modes
    }

    fn l(&self, f: u32) -> bool {
        has(self.modes.lflag, f)
    }

    fn i(&self, f: u32) -> bool {
        has(self.modes.iflag, f)
    }

    fn cc(&self, v: usize) -> Option<u8> {
        self.modes.cc.get(v).copied().filter(|&c| c != 0)
    }

    fn is(&self, c: u8, v: usize) -> bool {
        self.cc(v) == Some(c)
    }

    /// Changes the modes. Switching canonical mode off makes the line being
    /// edited readable; switching it on makes what is queued one line (as
    /// `n_tty_set_termios`).
    pub fn set_modes(&mut self, modes: Modes) {
        let was_canon = self.l(ICANON);
        self.modes = modes;
        if was_canon != self.l(ICANON) {
            self.ready.extend(self.edit.drain(..));
            self.lines.clear();
            if self.l(ICANON) && !self.ready.is_empty() {
                self.lines.push_back(self.ready.len());
            }
            self.lnext = false;
        }
    }

    /// Throws away all input, queued and being edited (TCIFLUSH, a signal character).
    pub fn flush_input(&mut self) {
        self.ready.clear();
        self.lines.clear();
        self.edit.clear();
        self.lnext = false;
    }

    /// Bytes read(2) can take now (FIONREAD/TIOCINQ).
    pub fn readable(&self) -> usize {
        self.ready.len()
    }

    /// Whether a read has something to return: a line (maybe an empty one
    /// ended by VEOF) in canonical mode, at least `min` bytes otherwise.
    pub fn input_available(&self, min: usize) -> bool {
        if self.l(ICANON) {
            !self.lines.is_empty()
        } else {
            self.ready.len() >= min.max(1)
        }
    }

    /// Whether the queue has room for more input; when it has none the caller
    /// leaves input where it is (the host then waits), as Linux throttles.
    pub fn has_room(&self) -> bool {
        self.ready.len().saturating_add(self.edit.len()) < QUEUE_MAX
    }

    /// Whether input may come now: the queue has room, or in canonical mode it
    /// holds only an unfinished line, whose excess characters are dropped so that
    /// an erase or the line's end can still come (n_tty lets such input through
    /// without limit). A writer waits only behind complete lines not read yet.
    pub fn can_receive(&self) -> bool {
        self.has_room() || (self.l(ICANON) && self.lines.is_empty())
    }

    /// Takes input for read(2): in canonical mode at most the rest of one line,
    /// else what is queued, up to `buf.len()`. Returns the byte count.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let limit = if self.l(ICANON) {
            match self.lines.front().copied() {
                Some(n) => n.min(buf.len()),
                None => return 0,
            }
        } else {
            self.ready.len().min(buf.len())
        };
        for (slot, b) in buf.iter_mut().zip(self.ready.drain(..limit)) {
            *slot = b;
        }
        if self.l(ICANON) {
            if let Some(front) = self.lines.front_mut() {
                *front = front.saturating_sub(limit);
                if *front == 0 {
                    self.lines.pop_front();
                }
            }
        }
        limit
    }

    /// Processes one byte written by a program (`OPOST`), appending what goes to
    /// the terminal to `out`.
    pub fn output_byte(&mut self, c: u8, out: &mut Vec<u8>) {
        let o = self.modes.oflag;
        if !has(o, OPOST) {
            out.push(c);
            return;
        }
        match c {
            b'\n' => {
                if has(o, ONLRET) {
                    self.column = 0;
                }
                if has(o, ONLCR) {
                    self.column = 0;
                    self.canon_column = 0;
                    out.extend_from_slice(b"\r\n");
                    return;
                }
                self.canon_column = self.column;
            }
            b'\r' => {
                if has(o, ONOCR) && self.column == 0 {
                    return;
                }
                if has(o, OCRNL) {
                    if has(o, ONLRET) {
                        self.column = 0;
                        self.canon_column = 0;
                    }
                    out.push(b'\n');
                    return;
                }
                self.column = 0;
                self.canon_column = 0;
            }
            b'\t' => {
                let spaces = 8usize.saturating_sub(self.column & 7);
                self.column = self.column.saturating_add(spaces);
                if o & XTABS == XTABS {
                    out.extend(core::iter::repeat_n(b' ', spaces));
                    return;
                }
            }
            0x08 => self.column = self.column.saturating_sub(1),
            _ => {
                if !is_cntrl(c) && !self.continuation(c) {
                    self.column = self.column.saturating_add(1);
                }
            }
        }
        out.push(c);
    }

    /// Processes what a program writes (see [`Ldisc::output_byte`]).
    pub fn output(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if !has(self.modes.oflag, OPOST) {
            out.extend_from_slice(data);
            return;
        }
        for &c in data {
            self.output_byte(c, out);
        }
    }

    fn continuation(&self, c: u8) -> bool {
        self.i(IUTF8) && c & 0xc0 == 0x80
    }

    /// Echoes `c`, a control character as `^X` under ECHOCTL (`echo_char`).
    fn echo_char(&mut self, c: u8, out: &mut Vec<u8>) {
        if self.l(ECHOCTL) && is_cntrl(c) && c != b'\t' {
            self.output_byte(b'^', out);
            self.output_byte(c ^ 0o100, out);
        } else {
            self.output_byte(c, out);
        }
    }

    /// Notes the column a line starts at when its first character is echoed.
    fn mark_line_start(&mut self) {
        if self.edit.is_empty() {
            self.canon_column = self.column;
        }
    }

    /// Processes one input byte from the terminal, appending the echo to `out`.
    /// Returns the signal a signal character raises (to the foreground group).
    pub fn receive(&mut self, c: u8, out: &mut Vec<u8>) -> Option<u32> {
        if self.lnext {
            self.lnext = false;
            let c = if self.i(ISTRIP) { c & 0x7f } else { c };
            self.plain(c, out);
            return None;
        }
        let mut c = if self.i(ISTRIP) { c & 0x7f } else { c };
        if self.i(IXON) && (self.is(c, VSTART) || self.is(c, VSTOP)) {
            return None;
        }
        if self.l(ISIG) {
            let sig = if self.is(c, VINTR) {
                Some(SIGINT)
            } else if self.is(c, VQUIT) {
                Some(SIGQUIT)
            } else if self.is(c, VSUSP) {
                Some(SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                if !self.l(NOFLSH) {
                    self.flush_input();
                }
                if self.l(ECHO) {
                    self.echo_char(c, out);
                }
                return Some(sig);
            }
        }
        let mut special = false;
        if c == b'\r' {
            if self.i(IGNCR) {
                return None;
            }
            if self.i(ICRNL) {
                c = b'\n';
                special = true;
            }
        } else if c == b'\n' && self.i(INLCR) {
            c = b'\r';
            special = true;
        }
        if self.l(ICANON) {
            self.canonical(c, out);
            return None;
        }
        if special && c == b'\n' {
            if self.l(ECHO) {
                self.output_byte(b'\n', out);
            }
            self.queue(c);
            return None;
        }
        self.plain(c, out);
        None
    }

    /// An ordinary character: echoed, then queued (`n_tty_receive_char`).
    fn plain(&mut self, c: u8, out: &mut Vec<u8>) {
        if self.l(ECHO) {
            self.mark_line_start();
            self.echo_char(c, out);
        }
        self.queue(c);
    }

    fn queue(&mut self, c: u8) {
        if !self.has_room() {
            return;
        }
        if self.l(ICANON) {
            self.edit.push(c);
        } else {
            self.ready.push_back(c);
        }
    }

    /// Ends the line being edited, with `term` as its last byte (None: VEOF).
    fn end_line(&mut self, term: Option<u8>) {
        if let Some(t) = term {
            self.edit.push(t);
        }
        let n = self.edit.len();
        self.ready.extend(self.edit.drain(..));
        self.lines.push_back(n);
    }

    fn canonical(&mut self, c: u8, out: &mut Vec<u8>) {
        let iexten = self.l(IEXTEN);
        if self.is(c, VERASE) {
            return self.erase(Kill::Erase, out);
        }
        if self.is(c, VKILL) {
            return self.erase(Kill::Line, out);
        }
        if iexten && self.is(c, VWERASE) {
            return self.erase(Kill::Werase, out);
        }
        if iexten && self.is(c, VLNEXT) {
            self.lnext = true;
            if self.l(ECHO) && self.l(ECHOCTL) {
                self.output_byte(b'^', out);
                self.output_byte(0x08, out);
            }
            return;
        }
        if iexten && self.l(ECHO) && self.is(c, VREPRINT) {
            self.echo_char(c, out);
            self.output_byte(b'\n', out);
            let line = core::mem::take(&mut self.edit);
            for &b in &line {
                self.echo_char(b, out);
            }
            self.edit = line;
            return;
        }
        if c == b'\n' {
            if self.l(ECHO) || self.l(ECHONL) {
                self.output_byte(b'\n', out);
            }
            return self.end_line(Some(c));
        }
        if self.is(c, VEOF) {
            return self.end_line(None);
        }
        if self.is(c, VEOL) || (iexten && self.is(c, VEOL2)) {
            if self.l(ECHO) {
                self.mark_line_start();
                self.echo_char(c, out);
            }
            return self.end_line(Some(c));
        }
        self.plain(c, out);
    }

    /// Columns the characters of the edited line before `end` take on screen
    /// from the line's start column, as echoed.
    fn column_at(&self, end: usize) -> usize {
        let mut col = self.canon_column;
        for &b in self.edit.iter().take(end) {
            if b == b'\t' {
                col = (col | 7).saturating_add(1);
            } else if is_cntrl(b) {
                if self.l(ECHOCTL) {
                    col = col.saturating_add(2);
                }
            } else if !self.continuation(b) {
                col = col.saturating_add(1);
            }
        }
        col
    }

    /// VERASE, VWERASE and VKILL in canonical mode (`eraser`).
    fn erase(&mut self, kind: Kill, out: &mut Vec<u8>) {
        if self.edit.is_empty() {
            return;
        }
        let echo = self.l(ECHO);
        if kind == Kill::Line {
            if !echo {
                self.edit.clear();
                return;
            }
            if !self.l(ECHOK) || !self.l(ECHOKE) || !self.l(ECHOE) {
                self.edit.clear();
                if let Some(k) = self.cc(VKILL) {
                    self.echo_char(k, out);
                }
                if self.l(ECHOK) {
                    self.output_byte(b'\n', out);
                }
                return;
            }
        }
        let mut seen_alnums = 0usize;
        while let Some(&last) = self.edit.last() {
            // One character, all of a UTF-8 sequence under IUTF8.
            let mut head = self.edit.len().saturating_sub(1);
            let mut c = last;
            while self.continuation(c) && head > 0 {
                head = head.saturating_sub(1);
                c = self.edit.get(head).copied().unwrap_or(0);
            }
            if self.continuation(c) {
                break;
            }
            if kind == Kill::Werase {
                if c.is_ascii_alphanumeric() || c == b'_' {
                    seen_alnums = seen_alnums.saturating_add(1);
                } else if seen_alnums > 0 {
                    break;
                }
            }
            if echo {
                if kind == Kill::Erase && !self.l(ECHOE) {
                    if let Some(e) = self.cc(VERASE) {
                        self.echo_char(e, out);
                    }
                } else if c == b'\t' {
                    // Back to where the tab started.
                    let from = self.column_at(head);
                    let to = self.column_at(head.saturating_add(1));
                    for _ in from..to {
                        self.output_byte(0x08, out);
                    }
                } else {
                    let bsb = |s: &mut Self, out: &mut Vec<u8>| {
                        for b in [0x08, b' ', 0x08] {
                            s.output_byte(b, out);
                        }
                    };
                    if is_cntrl(c) && self.l(ECHOCTL) {
                        bsb(self, out);
                    }
                    if !is_cntrl(c) || self.l(ECHOCTL) {
                        bsb(self, out);
                    }
                }
            }
            self.edit.truncate(head);
            if kind == Kill::Erase {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh Linux pty's modes (`stty sane`).
    fn sane() -> Modes {
        let mut cc = [0u8; NCCS];
        for (i, c) in [
            (VINTR, 3),
            (VQUIT, 0x1c),
            (VERASE, 0x7f),
            (VKILL, 0x15),
            (VEOF, 4),
            (VMIN, 1),
            (VSTART, 0x11),
            (VSTOP, 0x13),
            (VSUSP, 0x1a),
            (VREPRINT, 0x12),
            (VWERASE, 0x17),
            (VLNEXT, 0x16),
        ] {
            cc[i] = c;
        }
        Modes {
            iflag: ICRNL | IXON,
            oflag: OPOST | ONLCR,
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            cc,
        }
    }

    fn raw() -> Modes {
        let mut m = sane();
        m.iflag = 0;
        m.oflag = 0;
        m.lflag = 0;
        m
    }

    /// Feeds `input`; returns (the echo, the signals raised).
    fn feed(l: &mut Ldisc, input: &[u8]) -> (Vec<u8>, Vec<u32>) {
        let mut out = Vec::new();
        let mut sigs = Vec::new();
        for &c in input {
            sigs.extend(l.receive(c, &mut out));
        }
        (out, sigs)
    }

    fn read_all(l: &mut Ldisc) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let n = l.read(&mut buf);
        buf.get(..n).unwrap_or_default().to_vec()
    }

    #[test]
    fn canonical_lines_come_one_per_read() {
        let mut l = Ldisc::new(sane());
        let (echo, sigs) = feed(&mut l, b"ab\rcd");
        assert_eq!((echo.as_slice(), sigs.len()), (&b"ab\r\ncd"[..], 0));
        assert!(l.input_available(1));
        assert_eq!(l.readable(), 3);
        assert_eq!(read_all(&mut l), b"ab\n");
        assert!(!l.input_available(1), "cd is still being edited");
        feed(&mut l, b"\x04");
        assert_eq!(read_all(&mut l), b"cd", "VEOF ends the line without itself");
        feed(&mut l, b"\x04");
        assert!(l.input_available(1));
        assert_eq!(read_all(&mut l), b"", "VEOF on an empty line reads as end of file");
        assert!(!l.input_available(1));
    }

    #[test]
    fn partial_reads_of_a_line() {
        let mut l = Ldisc::new(sane());
        feed(&mut l, b"hello\n");
        let mut two = [0u8; 2];
        assert_eq!(l.read(&mut two), 2);
        assert_eq!(&two, b"he");
        assert_eq!(read_all(&mut l), b"llo\n");
    }

    #[test]
    fn erase_kill_werase_and_their_echo() {
        let mut l = Ldisc::new(sane());
        let (echo, _) = feed(&mut l, b"abc\x7f");
        assert_eq!(echo, b"abc\x08 \x08");
        let (echo, _) = feed(&mut l, b"\x01\x7f");
        assert_eq!(echo, b"^A\x08 \x08\x08 \x08", "a ^X takes two columns to erase");
        let (echo, _) = feed(&mut l, b" foo_1 \x17");
        assert_eq!(echo, b" foo_1 \x08 \x08\x08 \x08\x08 \x08\x08 \x08\x08 \x08\x08 \x08");
        feed(&mut l, b"\n");
        assert_eq!(read_all(&mut l), b"ab \n", "WERASE stops after the word");
        let (echo, _) = feed(&mut l, b"xy\x15");
        assert_eq!(echo, b"xy\x08 \x08\x08 \x08", "ECHOKE erases the line on screen");
        let mut m = sane();
        m.lflag &= !ECHOKE;
        l.set_modes(m);
        let (echo, _) = feed(&mut l, b"xy\x15z\n");
        assert_eq!(echo, b"xy^U\r\nz\r\n", "ECHOK without ECHOKE: ^U and a newline");
        assert_eq!(read_all(&mut l), b"z\n");
        let (echo, _) = feed(&mut l, b"\x7f");
        assert!(echo.is_empty(), "nothing to erase, nothing echoed");
    }

    #[test]
    fn erase_without_echoe_echoes_the_erase_char() {
        let mut m = sane();
        m.lflag &= !ECHOE;
        let mut l = Ldisc::new(m);
        let (echo, _) = feed(&mut l, b"ab\x7f\n");
        assert_eq!(echo, b"ab^?\r\n");
        assert_eq!(read_all(&mut l), b"a\n");
    }

    #[test]
    fn tab_erase_goes_back_to_the_tab_start() {
        let mut l = Ldisc::new(sane());
        let (echo, _) = feed(&mut l, b"ab\t\x7f");
        assert_eq!(echo, b"ab\t\x08\x08\x08\x08\x08\x08");
    }

    #[test]
    fn utf8_erase_takes_the_whole_character() {
        let mut m = sane();
        m.iflag |= IUTF8;
        let mut l = Ldisc::new(m);
        feed(&mut l, "aé".as_bytes());
        let (echo, _) = feed(&mut l, b"\x7f\n");
        assert_eq!(echo, b"\x08 \x08\r\n");
        assert_eq!(read_all(&mut l), b"a\n");
    }

    #[test]
    fn lnext_quotes_a_special_character() {
        let mut l = Ldisc::new(sane());
        let (echo, sigs) = feed(&mut l, b"\x16\x03\x16\x7f\n");
        assert!(sigs.is_empty());
        assert_eq!(echo, b"^\x08^C^\x08^?\r\n");
        assert_eq!(read_all(&mut l), b"\x03\x7f\n");
    }

    #[test]
    fn signal_characters_flush_unless_noflsh() {
        let mut l = Ldisc::new(sane());
        let (echo, sigs) = feed(&mut l, b"ab\n cd\x03");
        assert_eq!(sigs, [SIGINT]);
        assert!(echo.ends_with(b"^C"));
        assert_eq!(l.readable(), 0);
        let (_, sigs) = feed(&mut l, b"\x1c\x1a");
        assert_eq!(sigs, [SIGQUIT, SIGTSTP]);
        let mut m = sane();
        m.lflag |= NOFLSH;
        l.set_modes(m);
        let (_, sigs) = feed(&mut l, b"x\n\x03");
        assert_eq!(sigs, [SIGINT]);
        assert_eq!(read_all(&mut l), b"x\n");
        m.lflag &= !ISIG;
        l.set_modes(m);
        let (_, sigs) = feed(&mut l, b"\x03\n");
        assert!(sigs.is_empty());
        assert_eq!(read_all(&mut l), b"\x03\n", "without ISIG ^C is data");
    }

    #[test]
    fn raw_mode_passes_bytes_as_they_are() {
        let mut l = Ldisc::new(raw());
        let all: Vec<u8> = (0..=255u8).collect();
        let (echo, sigs) = feed(&mut l, &all);
        assert!(echo.is_empty() && sigs.is_empty());
        let mut buf = [0u8; 300];
        assert_eq!(l.read(&mut buf), 256);
        assert_eq!(buf.get(..256), Some(all.as_slice()));
        assert!(!l.input_available(0) && !l.input_available(1));
    }

    #[test]
    fn noncanonical_echo_and_translation() {
        let mut m = sane();
        m.lflag &= !ICANON;
        let mut l = Ldisc::new(m);
        let (echo, _) = feed(&mut l, b"a\r\n\x01");
        assert_eq!(echo, b"a\r\n^J^A", "CR becomes NL, echoed raw; a typed ^J is a ^X");
        assert_eq!(read_all(&mut l), b"a\n\n\x01");
        m.iflag = IGNCR;
        l.set_modes(m);
        feed(&mut l, b"x\ry");
        assert_eq!(read_all(&mut l), b"xy");
        m.iflag = INLCR;
        l.set_modes(m);
        feed(&mut l, b"\n");
        assert_eq!(read_all(&mut l), b"\r");
        assert!(!l.input_available(1));
        feed(&mut l, b"abc");
        assert!(l.input_available(3) && !l.input_available(4));
    }

    #[test]
    fn echonl_without_echo() {
        let mut m = sane();
        m.lflag = (m.lflag & !ECHO) | ECHONL;
        let mut l = Ldisc::new(m);
        let (echo, _) = feed(&mut l, b"secret\n");
        assert_eq!(echo, b"\r\n");
    }

    #[test]
    fn mode_switches_keep_input() {
        let mut l = Ldisc::new(sane());
        feed(&mut l, b"par");
        let mut m = sane();
        m.lflag &= !ICANON;
        l.set_modes(m);
        assert_eq!(read_all(&mut l), b"par", "the edited line becomes readable");
        feed(&mut l, b"xy");
        l.set_modes(sane());
        assert!(l.input_available(1));
        assert_eq!(read_all(&mut l), b"xy", "queued raw input becomes a line");
    }

    #[test]
    fn output_processing() {
        let mut l = Ldisc::new(sane());
        let mut out = Vec::new();
        l.output(b"a\nb\tc\r", &mut out);
        assert_eq!(out, b"a\r\nb\tc\r");
        let mut m = sane();
        m.oflag = OPOST | XTABS | ONOCR | OCRNL;
        l.set_modes(m);
        out.clear();
        l.output(b"\rab\tc\r", &mut out);
        assert_eq!(out, b"ab      c\n", "CR at column 0 dropped, tab expanded, CR to NL");
        m.oflag = ONLCR;
        l.set_modes(m);
        out.clear();
        l.output(b"a\n", &mut out);
        assert_eq!(out, b"a\n", "without OPOST nothing is processed");
    }

    #[test]
    fn ixon_consumes_start_and_stop() {
        let mut l = Ldisc::new(sane());
        feed(&mut l, b"a\x13b\x11\n");
        assert_eq!(read_all(&mut l), b"ab\n");
    }

    #[test]
    fn queue_is_bounded() {
        let mut m = sane();
        m.lflag &= !(ICANON | ECHO);
        let mut l = Ldisc::new(m);
        let data = alloc::vec![b'x'; QUEUE_MAX + 10];
        feed(&mut l, &data);
        assert_eq!(l.readable(), QUEUE_MAX);
        assert!(!l.has_room());
        assert!(!l.can_receive());
    }

    #[test]
    fn an_overlong_canonical_line_still_ends() {
        let mut m = sane();
        m.lflag &= !ECHO;
        let mut l = Ldisc::new(m);
        feed(&mut l, &alloc::vec![b'x'; QUEUE_MAX + 10]);
        assert!(!l.has_room());
        assert!(l.can_receive(), "an unfinished line takes more, so that its end can come");
        feed(&mut l, b"\n");
        let mut line = alloc::vec![0u8; 2 * QUEUE_MAX];
        let n = l.read(&mut line);
        assert_eq!(n, QUEUE_MAX + 1);
        assert_eq!(line.get(n - 1), Some(&b'\n'));
        feed(&mut l, &alloc::vec![b'y'; QUEUE_MAX]);
        feed(&mut l, b"\n");
        assert!(!l.can_receive(), "a writer waits behind complete lines not read yet");
    }
}
