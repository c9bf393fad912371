//! Guest networking options of `elfin run`: `-p [HOSTIP:]HOSTPORT:GUESTPORT[/udp]`
//! (docker's syntax, published through QEMU user networking) and
//! `--net none|user|tap:IFNAME`, and what they become on the QEMU and kernel
//! command lines (pure, tested).

use crate::arch::MachineType;

/// The guest's address under QEMU user networking (its built-in DHCP server
/// would hand out the same); the gateway and the DNS forwarder.
pub const USER_GUEST: &str = "10.0.2.15";
/// QEMU user networking's gateway.
pub const USER_GATEWAY: &str = "10.0.2.2";
/// QEMU user networking's DNS forwarder.
pub const USER_DNS: &str = "10.0.2.3";

/// How the guest is networked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetMode {
    /// No network device (only loopback inside the guest).
    None,
    /// QEMU user networking (NAT, host port forwarding for `-p`).
    User,
    /// A host tap interface (the guest asks DHCP for its address).
    Tap(String),
}

/// Parses `--net`.
pub fn parse_net(s: &str) -> Result<NetMode, String> {
    match s {
        "none" => Ok(NetMode::None),
        "user" => Ok(NetMode::User),
        _ => match s.strip_prefix("tap:") {
            Some(name)
                if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
            {
                Ok(NetMode::Tap(name.to_owned()))
            }
            _ => Err(format!("--net {s}: expected none, user or tap:IFNAME")),
        },
    }
}

/// One published port (`-p`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    /// Host address to listen on (None: every address).
    pub host_ip: Option<String>,
    /// Host port.
    pub host_port: u16,
    /// Guest port.
    pub guest_port: u16,
    /// UDP instead of TCP.
    pub udp: bool,
}

fn port(s: &str, what: &str, spec: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("-p {spec}: {what} '{s}' is not a port (1-65535)")),
    }
}

/// Parses `-p [HOSTIP:]HOSTPORT:GUESTPORT[/udp|/tcp]`.
pub fn parse_publish(spec: &str) -> Result<Publish, String> {
    let (ports, udp) = match spec.rsplit_once('/') {
        Some((p, "udp")) => (p, true),
        Some((p, "tcp")) => (p, false),
        Some((_, proto)) => return Err(format!("-p {spec}: protocol '{proto}' is not tcp or udp")),
        None => (spec, false),
    };
    // An IPv6 host address comes in brackets: [::1]:8080:80.
    let (host_ip, rest) = if let Some(r) = ports.strip_prefix('[') {
        let (ip, rest) = r.split_once("]:").ok_or_else(|| format!("-p {spec}: unclosed '[' in the host address"))?;
        (Some(ip.to_owned()), rest)
    } else {
        let parts: Vec<&str> = ports.split(':').collect();
        match parts.as_slice() {
            [_, _] => (None, ports),
            [ip, h, g] => {
                if ip.parse::<std::net::Ipv4Addr>().is_err() {
                    return Err(format!("-p {spec}: '{ip}' is not an IPv4 address"));
                }
                let rest = &ports[ports.len() - h.len() - g.len() - 1..];
                (Some((*ip).to_owned()), rest)
            }
            _ => {
                return Err(format!("-p {spec}: expected [HOSTIP:]HOSTPORT:GUESTPORT[/udp], e.g. -p 8080:80"));
            }
        }
    };
    let (h, g) = rest
        .split_once(':')
        .ok_or_else(|| format!("-p {spec}: expected [HOSTIP:]HOSTPORT:GUESTPORT[/udp], e.g. -p 8080:80"))?;
    Ok(Publish { host_ip, host_port: port(h, "host port", spec)?, guest_port: port(g, "guest port", spec)?, udp })
}

/// The network mode of a run: `--net` if given, else user networking when ports
/// are published, else none.
pub fn resolve(net: Option<&NetMode>, publish: &[Publish]) -> Result<NetMode, String> {
    match net {
        Some(NetMode::User) | None if !publish.is_empty() => Ok(NetMode::User),
        Some(m) if !publish.is_empty() => {
            Err(format!("-p needs user networking (--net user), not --net {}", mode_name(m)))
        }
        Some(m) => Ok(m.clone()),
        None => Ok(NetMode::None),
    }
}

fn mode_name(m: &NetMode) -> String {
    match m {
        NetMode::None => "none".into(),
        NetMode::User => "user".into(),
        NetMode::Tap(n) => format!("tap:{n}"),
    }
}

/// QEMU arguments for the network device.
pub fn qemu_args(mode: &NetMode, publish: &[Publish], machine: MachineType) -> Vec<String> {
    let netdev = match mode {
        NetMode::None => return Vec::new(),
        NetMode::User => {
            let mut s = String::from("user,id=net0");
            for p in publish {
                let proto = if p.udp { "udp" } else { "tcp" };
                let ip = p.host_ip.as_deref().unwrap_or("");
                s.push_str(&format!(",hostfwd={proto}:{ip}:{}-:{}", p.host_port, p.guest_port));
            }
            s
        }
        NetMode::Tap(name) => format!("tap,id=net0,ifname={name},script=no,downscript=no"),
    };
    let device = match machine {
        MachineType::Q35 => "virtio-net-pci,netdev=net0,disable-legacy=on",
        MachineType::Microvm | MachineType::Virt => "virtio-net-device,netdev=net0",
    };
    vec!["-netdev".into(), netdev, "-device".into(), device.into()]
}

/// Words for the kernel command line: the fixed address under user networking
/// (no DHCP round trip at boot), DHCP on a tap, nothing without a device.
pub fn kernel_words(mode: &NetMode) -> Option<String> {
    match mode {
        NetMode::None => None,
        NetMode::User => Some(format!("ip={USER_GUEST}/24,{USER_GATEWAY}")),
        NetMode::Tap(_) => Some("ip=dhcp".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_forms() {
        let p = parse_publish("8080:80").unwrap();
        assert_eq!(p, Publish { host_ip: None, host_port: 8080, guest_port: 80, udp: false });
        let p = parse_publish("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(p, Publish { host_ip: Some("127.0.0.1".into()), host_port: 8080, guest_port: 80, udp: true });
        let p = parse_publish("[::1]:53:53/udp").unwrap();
        assert_eq!(p.host_ip.as_deref(), Some("::1"));
        assert!(parse_publish("80").is_err());
        assert!(parse_publish("0:80").is_err());
        assert!(parse_publish("8080:80/sctp").is_err());
        assert!(parse_publish("x:1:2").is_err());
        assert!(parse_publish("1:2:3:4").is_err());
    }

    #[test]
    fn modes() {
        assert_eq!(parse_net("tap:tap0").unwrap(), NetMode::Tap("tap0".into()));
        assert!(parse_net("tap:").is_err());
        assert!(parse_net("bridge").is_err());
        let p = [parse_publish("8080:80").unwrap()];
        assert_eq!(resolve(None, &p).unwrap(), NetMode::User);
        assert_eq!(resolve(None, &[]).unwrap(), NetMode::None);
        assert!(resolve(Some(&NetMode::None), &p).is_err());
        assert_eq!(resolve(Some(&NetMode::User), &[]).unwrap(), NetMode::User);
    }

    #[test]
    fn qemu_and_kernel() {
        let p = [parse_publish("8080:80").unwrap(), parse_publish("127.0.0.1:5353:53/udp").unwrap()];
        assert_eq!(
            qemu_args(&NetMode::User, &p, MachineType::Microvm).join(" "),
            "-netdev user,id=net0,hostfwd=tcp::8080-:80,hostfwd=udp:127.0.0.1:5353-:53 \
             -device virtio-net-device,netdev=net0"
        );
        assert!(qemu_args(&NetMode::User, &[], MachineType::Q35)
            .join(" ")
            .ends_with("virtio-net-pci,netdev=net0,disable-legacy=on"));
        assert!(qemu_args(&NetMode::None, &p, MachineType::Virt).is_empty());
        assert_eq!(kernel_words(&NetMode::User).as_deref(), Some("ip=10.0.2.15/24,10.0.2.2"));
    }
}
