// Package prompts is what a citizen hears: the Italian catalogue
// (it.yaml: prompt id → text), its rendering to 8 kHz WAV with espeak-ng
// and sox (a studio recording replaces the voice), and the media URI of a
// prompt in Asterisk. The IVR, the queue and the recall dialler play from
// it.
package prompts

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed it.yaml
var catalogueYAML []byte

// Catalogue maps a prompt id to the Italian text the caller hears.
type Catalogue map[string]string

var promptID = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// LoadCatalogue parses the embedded Italian catalogue.
func LoadCatalogue() (Catalogue, error) {
	var c Catalogue
	if err := yaml.Unmarshal(catalogueYAML, &c); err != nil {
		return nil, fmt.Errorf("prompt catalogue: %w", err)
	}
	for id, text := range c {
		if !promptID.MatchString(id) {
			return nil, fmt.Errorf("prompt catalogue: id %q must be snake_case", id)
		}
		if text == "" {
			return nil, fmt.Errorf("prompt catalogue: %s has no text", id)
		}
	}
	return c, nil
}

// IDs returns the catalogue's ids in order.
func (c Catalogue) IDs() []string {
	ids := make([]string, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Dir is the directory, under Asterisk's sounds/<language>, where the
// prompts live: "sound:centralino/<id>".
const Dir = "centralino"

// Sound is the media URI of a catalogue prompt.
func Sound(id string) string { return "sound:" + Dir + "/" + id }

// Sounds is Sound of each id, in order.
func Sounds(ids ...string) []string {
	m := make([]string, len(ids))
	for i, id := range ids {
		m[i] = Sound(id)
	}
	return m
}

// ServiceID is the prompt that names a service of the catalogue
// ("servizio_<code>"), rendered from the database by WithNames.
func ServiceID(code string) string {
	return "servizio_" + strings.ToLower(strings.ReplaceAll(code, ".", "_"))
}

// SiteID is the prompt that names a site ("sede_<id>").
func SiteID(id int64) string { return fmt.Sprintf("sede_%d", id) }

// SpeakingRate is espeak-ng's rate (words per minute) for generated
// prompts: a little below its default of 175, which is quick for a caller
// hearing a menu for the first time on the phone, and above the 145 the
// prompts had, which made them slow (README, "Prompts").
const SpeakingRate = 160

// trailingPause is the silence left at the end of a generated prompt, in
// seconds.
const trailingPause = "0.15"

// voice identifies how a text is spoken: a change re-renders every
// generated prompt.
var voice = fmt.Sprintf("tts:espeak-ng it %d, pause %s:", SpeakingRate, trailingPause)

// GenerateReport says what Generate did.
type GenerateReport struct {
	Generated, Studio, Unchanged int
}

// Generate renders every prompt of the catalogue into outDir as 8 kHz mono
// 16-bit WAV, what Asterisk plays without transcoding from signed linear. A
// studio recording studioDir/<id>.wav (any rate or channels) replaces the
// generated voice; it is converted to the same format. A prompt whose text
// or recording has not changed since the last run is left alone.
func (c Catalogue) Generate(ctx context.Context, outDir, studioDir string, log *slog.Logger) (GenerateReport, error) {
	var rep GenerateReport
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return rep, fmt.Errorf("prompts: %s is not installed (scripts/setup.sh installs it): %w", tool, err)
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return rep, fmt.Errorf("prompts: %w", err)
	}
	for _, id := range c.IDs() {
		out := filepath.Join(outDir, id+".wav")
		studio := filepath.Join(studioDir, id+".wav")
		source, studioFile := []byte(voice+c[id]), false
		if studioDir != "" {
			if b, err := os.ReadFile(studio); err == nil {
				source, studioFile = b, true
			}
		}
		sum := sha256.Sum256(source)
		stamp := out + ".sha256"
		if old, err := os.ReadFile(stamp); err == nil && string(old) == hex.EncodeToString(sum[:]) {
			if _, err := os.Stat(out); err == nil {
				rep.Unchanged++
				continue
			}
		}
		if studioFile {
			if err := run(ctx, "sox", studio, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", out, "gain", "-n", "-3"); err != nil {
				return rep, fmt.Errorf("prompts: converting studio recording %s: %w", id, err)
			}
			rep.Studio++
		} else {
			tmp := out + ".tts.wav"
			if err := run(ctx, "espeak-ng", "-v", "it", "-s", strconv.Itoa(SpeakingRate), "-w", tmp, c[id]); err != nil {
				return rep, fmt.Errorf("prompts: speaking %s: %w", id, err)
			}
			// The telephone band; espeak-ng's 0.4 s of trailing silence
			// cut to trailingPause, enough to part two prompts played
			// one after the other.
			err := run(ctx, "sox", tmp, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", out,
				"highpass", "300", "lowpass", "3400", "gain", "-n", "-3",
				"reverse", "silence", "1", "0.02", "-50d", "reverse", "pad", "0", trailingPause)
			os.Remove(tmp)
			if err != nil {
				return rep, fmt.Errorf("prompts: converting %s: %w", id, err)
			}
			rep.Generated++
		}
		if err := os.WriteFile(stamp, []byte(hex.EncodeToString(sum[:])), 0o644); err != nil {
			return rep, fmt.Errorf("prompts: %w", err)
		}
	}
	log.Info("prompts ready", "dir", outDir, "generated", rep.Generated, "studio", rep.Studio, "unchanged", rep.Unchanged)
	return rep, nil
}

func run(ctx context.Context, name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return errors.Join(err, errors.New(stderr.String()))
	}
	return nil
}

// WithNames adds a prompt for every service (code → name) and site (id →
// what is said of it: short name and city), which the IVR reads out.
func (c Catalogue) WithNames(services map[string]string, sites map[int64]string) Catalogue {
	out := make(Catalogue, len(c)+len(services)+len(sites))
	for id, text := range c {
		out[id] = text
	}
	for code, name := range services {
		out[ServiceID(code)] = name
	}
	for id, name := range sites {
		out[SiteID(id)] = name
	}
	return out
}
