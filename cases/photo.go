package cases

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"

	"golang.org/x/image/webp"

	"gridmap/geo"
)

// Photo limits: JPEG, PNG or WebP, at most MaxPhotoBytes each, MaxPhotosPerEvent per event.
const (
	MaxPhotoBytes     = 8 << 20
	MaxPhotosPerEvent = 6
	maxPhotoPixels    = 40_000_000 // refuse decompression bombs before decoding
	// A report from the resident's form carries at most MaxIntakePhotos of at
	// most MaxIntakePhotoBytes each (the browser sends ≤ 1600 px JPEGs, a few
	// hundred KB; an anonymous request gets a smaller budget than staff).
	MaxIntakePhotos     = 3
	MaxIntakePhotoBytes = 4 << 20
)

// Photo is an uploaded photo after re-encoding.
type Photo struct {
	ContentType   string // image/jpeg or image/png
	Bytes         []byte
	Width, Height int
}

// ReencodePhoto checks an upload's size and type and re-encodes its pixels,
// so that nothing of the original file but the image survives: EXIF
// (including GPS), XMP, ICC profiles and comments are gone. JPEG and WebP
// become JPEG (quality 85), PNG stays PNG. The type is sniffed from the bytes,
// not taken from the client.
func ReencodePhoto(body []byte) (Photo, error) {
	if len(body) == 0 {
		return Photo{}, geo.Errorf(geo.EInvalid, "the photo is empty")
	}
	if len(body) > MaxPhotoBytes {
		return Photo{}, geo.Errorf(geo.ETooLarge, "a photo may be at most %d MB, this one is %.1f MB", MaxPhotoBytes>>20, float64(len(body))/(1<<20))
	}
	kind := sniffImage(body)
	var cfg image.Config
	var err error
	switch kind {
	case "image/jpeg":
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(body))
	case "image/png":
		cfg, err = png.DecodeConfig(bytes.NewReader(body))
	case "image/webp":
		cfg, err = webp.DecodeConfig(bytes.NewReader(body))
	default:
		return Photo{}, geo.Errorf(geo.EInvalid, "a photo must be JPEG, PNG or WebP; this file looks like %s", http.DetectContentType(body))
	}
	if err != nil {
		return Photo{}, geo.Errorf(geo.EInvalid, "the photo cannot be read as %s: %v", kind, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPhotoPixels {
		return Photo{}, geo.Errorf(geo.EInvalid, "a photo may have at most %d pixels, this one is %d×%d", maxPhotoPixels, cfg.Width, cfg.Height)
	}
	var img image.Image
	switch kind {
	case "image/jpeg":
		img, err = jpeg.Decode(bytes.NewReader(body))
	case "image/png":
		img, err = png.Decode(bytes.NewReader(body))
	case "image/webp":
		img, err = webp.Decode(bytes.NewReader(body))
	}
	if err != nil {
		return Photo{}, geo.Errorf(geo.EInvalid, "the photo cannot be decoded as %s: %v", kind, err)
	}
	var out bytes.Buffer
	ct := "image/jpeg"
	if kind == "image/png" {
		ct = "image/png"
		err = png.Encode(&out, img)
	} else {
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 85})
	}
	if err != nil {
		return Photo{}, geo.Internal("cases.ReencodePhoto", err)
	}
	b := img.Bounds()
	return Photo{ContentType: ct, Bytes: out.Bytes(), Width: b.Dx(), Height: b.Dy()}, nil
}

func sniffImage(b []byte) string {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return "image/jpeg"
	case len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return "image/png"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}
