package index

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestIndexRefusesUnverifiedPostGISVersions: the index reproduces PostGIS
// 3.3's point-in-polygon code and was used whatever PostGIS ran; only the
// 3.3 line may be answered from memory.
func TestIndexRefusesUnverifiedPostGISVersions(t *testing.T) {
	for _, c := range []struct {
		version string
		want    bool
	}{
		{"3.3.2", true},
		{"3.3.0", true},
		{"3.3", true},
		{" 3.3.4dev\n", true},
		{"3.3dev", true},
		{"3.4.2", false}, // interval trees replaced the winding-number code
		{"3.2.1", false},
		{"3.30.0", false},
		{"2.5.5", false},
		{"", false},
		{"unknown", false},
	} {
		t.Run(strings.TrimSpace(c.version), func(t *testing.T) {
			if got := MatchesPostGIS(c.version); got != c.want {
				t.Errorf("MatchesPostGIS(%q) = %v, want %v", c.version, got, c.want)
			}
		})
	}
}

// fusedMultiplyAdd matches the fused multiply-add instructions of the
// architectures on which Go fuses x*y+z by itself (arm64 FMADDD/FMSUBD/
// FNMADDD/FNMSUBD, ppc64 FMADD/FMSUB/FNMADD/FNMSUB); amd64 does not fuse.
var fusedMultiplyAdd = regexp.MustCompile(`\sF(N)?M(ADD|SUB)[DS]?\s`)

// TestPointInPolygonHasNoFusedMultiplyAdd: on arm64 Go compiled side()'s
// a*b - c*d into a fused multiply-subtract, whose single rounding can put a
// point on the other side of an edge than PostGIS (no FMA) does. The
// package is compiled for those architectures and its assembly must hold no
// fused instruction.
func TestPointInPolygonHasNoFusedMultiplyAdd(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to compile the package for other architectures: %v", err)
	}
	for _, arch := range []string{"arm64", "ppc64le"} {
		t.Run(arch, func(t *testing.T) {
			cmd := exec.Command(goBin, "build", "-gcflags=gridmap/index=-S", "-o", os.DevNull, ".")
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go build for %s: %v\n%s", arch, err, out)
			}
			asm := string(out)
			if !strings.Contains(asm, "gridmap/index.side STEXT") {
				t.Fatalf("no assembly of index.side in the compiler's output (%d bytes)", len(out))
			}
			var fused []string
			for _, line := range strings.Split(asm, "\n") {
				if fusedMultiplyAdd.MatchString(line) {
					fused = append(fused, strings.TrimSpace(line))
				}
			}
			if len(fused) > 0 {
				t.Errorf("%d fused multiply-add instructions on %s, want none; first: %s", len(fused), arch, fused[0])
			}
		})
	}
}
