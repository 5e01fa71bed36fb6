package timeline

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// chromium returns the path of Debian's chromium, skipping the test when it
// is not installed, except on CI (CI=true), which installs it (.ci/run).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (CI installs it in .ci/run)")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// TestBrowserScreenshot opens the small run's page in headless Chromium and
// checks that the screenshot shows a timeline: mostly white, but with a good
// share of drawn pixels, many colours, and the highlight's red.
func TestBrowserScreenshot(t *testing.T) {
	bin := chromium(t)
	t.Parallel()
	tr, step := smallRun(t, 2*time.Minute)
	var page bytes.Buffer
	if err := Write(&page, bytes.NewReader(tr), Options{Title: "browser test", Highlight: step}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	html, shot := filepath.Join(dir, "page.html"), filepath.Join(dir, "shot.png")
	if err := os.WriteFile(html, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--screenshot="+shot, "--window-size=1400,900", "file://"+html)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	outErr, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("chromium did not finish in time: %s", outErr)
	}
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, outErr)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, outErr)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("TIMELINE_SHOT"); out != "" { // to look at it
		b, _ := os.ReadFile(shot)
		os.WriteFile(out, b, 0o644)
	}
	st := pixelStats(img)
	t.Logf("%v: %.1f%% non-white, %d colours, %d highlight-red pixels", img.Bounds().Size(), 100*st.nonWhite, st.colours, st.red)
	if sz := img.Bounds().Size(); sz.X < 1000 || sz.Y < 600 {
		t.Errorf("screenshot is %v", sz)
	}
	if st.nonWhite < 0.05 || st.nonWhite > 0.9 {
		t.Errorf("%.1f%% of the pixels are not white", 100*st.nonWhite)
	}
	if st.colours < 50 {
		t.Errorf("only %d distinct colours", st.colours)
	}
	if st.red < 200 {
		t.Errorf("only %d pixels of the highlight's red", st.red)
	}
}

type stats struct {
	nonWhite float64
	colours  int
	red      int
}

func pixelStats(img image.Image) stats {
	b := img.Bounds()
	var seen [1 << 24 / 64]uint64 // one bit per 24-bit colour
	colours, nonWhite, red := 0, 0, 0
	pixel := func(r, g, bl uint32) {
		if r < 245 || g < 245 || bl < 245 {
			nonWhite++
		}
		// the highlight colour #e0001b, give or take antialiasing
		if r > 190 && g < 60 && bl < 70 {
			red++
		}
		c := r<<16 | g<<8 | bl
		if seen[c/64]&(1<<(c%64)) == 0 {
			seen[c/64] |= 1 << (c % 64)
			colours++
		}
	}
	if rgba, ok := img.(*image.NRGBA); ok { // what Chromium's PNGs decode to
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := rgba.Pix[(y-b.Min.Y)*rgba.Stride:]
			for x := 0; x < b.Dx(); x++ {
				pixel(uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2]))
			}
		}
	} else {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				pixel(r>>8, g>>8, bl>>8)
			}
		}
	}
	return stats{nonWhite: float64(nonWhite) / float64(b.Dx()*b.Dy()), colours: colours, red: red}
}
