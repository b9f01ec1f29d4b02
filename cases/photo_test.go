package cases

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"gridmap/geo"
)

// withExif inserts an APP1 Exif segment carrying a GPS IFD marker and a
// recognisable coordinate string right after a JPEG's SOI marker.
func withExif(t *testing.T, jpg []byte) []byte {
	t.Helper()
	payload := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), []byte("GPSLatitude 39.9042N GPSLongitude 116.4074E")...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := 0; x < 64; x++ {
		for y := 0; y < 48; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 90, 255})
		}
	}
	return img
}

func TestReencodePhotoDropsExifGPS(t *testing.T) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	in := withExif(t, buf.Bytes())
	if !bytes.Contains(in, []byte("GPSLatitude")) || !bytes.Contains(in, []byte("Exif\x00\x00")) {
		t.Fatal("the test photo carries no EXIF to strip")
	}
	if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
		t.Fatalf("the test photo with EXIF is not a valid JPEG: %v", err)
	}
	p, err := ReencodePhoto(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Exif", "GPSLatitude", "39.9042"} {
		if bytes.Contains(p.Bytes, []byte(s)) {
			t.Errorf("re-encoded photo still contains %q", s)
		}
	}
	if bytes.Contains(p.Bytes, []byte{0xFF, 0xE1}) {
		t.Error("re-encoded photo still has an APP1 segment")
	}
	if p.ContentType != "image/jpeg" || p.Width != 64 || p.Height != 48 {
		t.Errorf("got %s %d×%d, want image/jpeg 64×48", p.ContentType, p.Width, p.Height)
	}
}

func TestReencodePhotoRefuses(t *testing.T) {
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, testImage()); err != nil {
		t.Fatal(err)
	}
	if p, err := ReencodePhoto(pngBuf.Bytes()); err != nil || p.ContentType != "image/png" {
		t.Fatalf("PNG: got %v %v, want image/png", p.ContentType, err)
	}
	for _, c := range []struct {
		name string
		body []byte
		code string
	}{
		{"empty", nil, geo.EInvalid},
		{"gif is not allowed", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), geo.EInvalid},
		{"truncated jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10}, geo.EInvalid},
		{"over 8 MB", append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, MaxPhotoBytes)...), geo.ETooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReencodePhoto(c.body)
			if got := geo.ErrorCode(err); got != c.code {
				t.Errorf("got %q (%v), want %q", got, err, c.code)
			}
		})
	}
}
