package config_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/thot-security/thot/internal/config"
)

// TestParseNetworks: CIDR networks and bare addresses are read; anything
// that would silently widen the list (host bits, /0) or is not an address
// is refused, naming the entry.
func TestParseNetworks(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr string
	}{
		{"empty", nil, []string{}, ""},
		{"blank entries skipped", []string{" ", ""}, []string{}, ""},
		{"IPv4 networks", []string{"10.20.0.0/16", " 192.168.1.0/24 "}, []string{"10.20.0.0/16", "192.168.1.0/24"}, ""},
		{"bare IPv4 is one host", []string{"10.0.0.7"}, []string{"10.0.0.7/32"}, ""},
		{"bare IPv6 is one host", []string{"fd00::1"}, []string{"fd00::1/128"}, ""},
		{"IPv6 network", []string{"fd12:3456::/48"}, []string{"fd12:3456::/48"}, ""},
		{"IPv4-mapped read as IPv4", []string{"::ffff:10.1.0.0/112"}, []string{"10.1.0.0/16"}, ""},
		{"host bits refused", []string{"10.1.2.3/8"}, nil, "the network is 10.0.0.0/8"},
		{"everything refused (v4)", []string{"0.0.0.0/0"}, nil, "every address"},
		{"everything refused (v6)", []string{"::/0"}, nil, "every address"},
		{"garbage", []string{"office"}, nil, `"office"`},
		{"bad mask", []string{"10.0.0.0/33"}, nil, "CIDR"},
		{"zone refused", []string{"fe80::1%eth0"}, nil, "not an IP address"},
		{"short mapped prefix", []string{"::ffff:0:0/90"}, nil, "96 bits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := config.ParseNetworks(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := make([]string, len(got))
			for i, p := range got {
				s[i] = p.String()
			}
			if strings.Join(s, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", s, tc.want)
			}
		})
	}
}

// TestTrustedNetworksSetting: off by default, validated at start in every
// environment, and limited to private or loopback networks in production.
func TestTrustedNetworksSetting(t *testing.T) {
	c, err := config.Load(envOf(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ExtensionTrustedNetworks) != 0 || c.ExtensionTrustedPrefixes() != nil {
		t.Errorf("default: %v", c.ExtensionTrustedNetworks)
	}
	prod := func(nets string) map[string]string {
		return map[string]string{"THOT_ENV": "production", "THOT_SECRET_KEY": strongKey, "THOT_PASSWORD_ITERATIONS": "600000",
			"THOT_EXTENSION_TRUSTED_NETWORKS": nets}
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		want    int
	}{
		{"development, public network", map[string]string{"THOT_EXTENSION_TRUSTED_NETWORKS": "203.0.113.0/24"}, "", 1},
		{"development, typo", map[string]string{"THOT_EXTENSION_TRUSTED_NETWORKS": "10.0.0.0/8,10.1.2.3/16"}, "host bits", 0},
		{"development, everything", map[string]string{"THOT_EXTENSION_TRUSTED_NETWORKS": "0.0.0.0/0"}, "every address", 0},
		{"production, office LAN and loopback", prod("10.20.0.0/16, 192.168.5.0/24, 127.0.0.1, fd00:1::/64"), "", 4},
		{"production, public network", prod("10.0.0.0/8,203.0.113.0/24"), "refused: 203.0.113.0/24", 0},
		{"production, wider than a private block", prod("172.0.0.0/8"), "refused: 172.0.0.0/8", 0},
		{"production, public IPv6", prod("2001:db8::/32"), "refused: 2001:db8::/32", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(envOf(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), "THOT_EXTENSION_TRUSTED_NETWORKS") || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want THOT_EXTENSION_TRUSTED_NETWORKS … %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := len(c.ExtensionTrustedPrefixes()); n != tc.want {
				t.Errorf("%d networks, want %d", n, tc.want)
			}
		})
	}
}

// FuzzParseNetworks: any input either fails or yields masked, non-empty
// networks that parse back to themselves (no silent widening).
func FuzzParseNetworks(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.1.2.3", "10.1.2.3/8", "::/0", "::ffff:10.0.0.0/104", "fe80::1%eth0", "a,b", " 192.168.0.0/16 ,fd00::/8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		nets, err := config.ParseNetworks(strings.Split(in, ","))
		if err != nil {
			return
		}
		for _, p := range nets {
			if p.Bits() <= 0 || p != p.Masked() || p.Addr().Is4In6() {
				t.Fatalf("%q gave %v", in, p)
			}
			if q, err := netip.ParsePrefix(p.String()); err != nil || q != p {
				t.Fatalf("%v does not round-trip: %v %v", p, q, err)
			}
		}
	})
}

// TestPrivateNetwork: wholly inside a private or loopback block.
func TestPrivateNetwork(t *testing.T) {
	for in, want := range map[string]bool{
		"10.0.0.0/8": true, "10.9.9.0/24": true, "172.16.0.0/12": true, "172.31.0.0/16": true, "172.32.0.0/16": false,
		"192.168.0.0/16": true, "192.0.0.0/8": false, "127.0.0.1/32": true, "8.8.8.8/32": false,
		"fd00::/8": true, "fc00::/6": false, "::1/128": true, "2001:db8::/32": false,
	} {
		if got := config.PrivateNetwork(netip.MustParsePrefix(in)); got != want {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
}
