package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseNetworks reads a list of networks in CIDR notation (a bare address
// is a one-host network). It is strict where a typo would widen the list:
// host bits must be zero ("10.1.2.3/8" is refused, not read as 10.0.0.0/8)
// and a network matching every address (/0) is refused. IPv4-mapped IPv6
// networks are read as the IPv4 network they denote, the form clients'
// addresses are compared in.
func ParseNetworks(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		p, err := parseNetwork(e)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", e, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseNetwork(e string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(e, "/") {
		var err error
		if p, err = netip.ParsePrefix(e); err != nil {
			return p, fmt.Errorf("not a network in CIDR notation (a.b.c.d/n or x:y::/n)")
		}
	} else {
		a, err := netip.ParseAddr(e)
		if err != nil || a.Zone() != "" {
			return p, fmt.Errorf("not an IP address or network in CIDR notation")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return p, fmt.Errorf("an IPv4-mapped network needs a prefix of at least 96 bits")
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if p.Bits() == 0 {
		return p, fmt.Errorf("matches every address; list the networks that may call instead")
	}
	if m := p.Masked(); m != p {
		return p, fmt.Errorf("has host bits set; the network is %s", m)
	}
	return p, nil
}

// privateBlocks are the ranges a production trusted network must lie in:
// private use (RFC 1918, RFC 4193) and loopback.
var privateBlocks = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("::1/128"),
}

// PrivateNetwork reports whether every address of p is private or loopback.
func PrivateNetwork(p netip.Prefix) bool {
	for _, b := range privateBlocks {
		if p.Addr().BitLen() == b.Addr().BitLen() && p.Bits() >= b.Bits() && b.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// ExtensionTrustedPrefixes is THOT_EXTENSION_TRUSTED_NETWORKS parsed
// (Validate has refused a list that does not parse; nil when empty).
func (c *Config) ExtensionTrustedPrefixes() []netip.Prefix {
	p, err := ParseNetworks(c.ExtensionTrustedNetworks)
	if err != nil || len(p) == 0 {
		return nil
	}
	return p
}

// validateTrustedNetworks checks THOT_EXTENSION_TRUSTED_NETWORKS. In
// production only private and loopback networks are accepted: the
// setting opens routes that read personal data without credentials, and a
// public range would open them to whoever shares it.
func (c *Config) validateTrustedNetworks() error {
	nets, err := ParseNetworks(c.ExtensionTrustedNetworks)
	if err != nil {
		return fmt.Errorf("THOT_EXTENSION_TRUSTED_NETWORKS: %w", err)
	}
	if c.Env != EnvProduction {
		return nil
	}
	var public []string
	for _, p := range nets {
		if !PrivateNetwork(p) {
			public = append(public, p.String())
		}
	}
	if len(public) > 0 {
		return fmt.Errorf("THOT_EXTENSION_TRUSTED_NETWORKS: production accepts only private or loopback networks "+
			"(10/8, 172.16/12, 192.168/16, 127/8, fc00::/7, ::1); refused: %s — give that extension an API key instead",
			strings.Join(public, ", "))
	}
	return nil
}
