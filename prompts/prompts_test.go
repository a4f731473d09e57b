package prompts_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/prompts"
)

func soxInfo(t *testing.T, file, opt string) string {
	t.Helper()
	out, err := exec.Command("soxi", opt, file).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func TestCatalogue(t *testing.T) {
	t.Parallel()
	c, err := prompts.LoadCatalogue()
	require.NoError(t, err)
	require.Contains(t, c, "menu_principale")
	require.Contains(t, c["menu_principale"], "prema 1")
	for id, text := range c {
		// Nothing a caller hears may name a codice fiscale or a diagnosis.
		require.NotContains(t, strings.ToLower(text), "codice fiscale", id)
		require.NotContains(t, strings.ToLower(text), "diagnosi", id)
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	out, studio := t.TempDir(), t.TempDir()
	c := prompts.Catalogue{"menu_principale": "Per prenotare prema 1.", "arrivederci": "Arrivederci."}
	// A "studio recording": 1.5 s of tone, 44.1 kHz stereo.
	require.NoError(t, exec.Command("sox", "-n", "-r", "44100", "-c", "2", filepath.Join(studio, "arrivederci.wav"), "synth", "1.5", "sine", "440").Run())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	rep, err := c.Generate(context.Background(), out, studio, log)
	require.NoError(t, err)
	require.Equal(t, prompts.GenerateReport{Generated: 1, Studio: 1}, rep)
	for _, id := range []string{"menu_principale", "arrivederci"} {
		f := filepath.Join(out, id+".wav")
		require.Equal(t, "8000", soxInfo(t, f, "-r"), id)
		require.Equal(t, "1", soxInfo(t, f, "-c"), id)
		require.Equal(t, "16", soxInfo(t, f, "-b"), id)
	}
	require.Equal(t, "1.500000", soxInfo(t, filepath.Join(out, "arrivederci.wav"), "-D"), "the studio recording wins")
	require.NotEqual(t, "0.000000", soxInfo(t, filepath.Join(out, "menu_principale.wav"), "-D"))

	// A second run changes nothing; a changed text is spoken again.
	rep, err = c.Generate(context.Background(), out, studio, log)
	require.NoError(t, err)
	require.Equal(t, prompts.GenerateReport{Unchanged: 2}, rep)
	c["menu_principale"] = "Per disdire prema 2."
	rep, err = c.Generate(context.Background(), out, studio, log)
	require.NoError(t, err)
	require.Equal(t, prompts.GenerateReport{Generated: 1, Unchanged: 1}, rep)
	_, err = os.Stat(filepath.Join(out, "menu_principale.wav.tts.wav"))
	require.True(t, os.IsNotExist(err), "no temporary file is left behind")
}

func TestWithNames(t *testing.T) {
	t.Parallel()
	c, err := prompts.LoadCatalogue()
	require.NoError(t, err)
	all := c.WithNames(map[string]string{"VCARD": "Visita cardiologica", "89.7A.3": "Visita cardiologica di controllo"},
		map[int64]string{7: "Policlinico San Martino, Genova"})
	require.Equal(t, "Visita cardiologica", all["servizio_vcard"])
	require.Equal(t, "Visita cardiologica di controllo", all["servizio_89_7a_3"])
	require.Equal(t, "Policlinico San Martino, Genova", all["sede_7"])
	require.Equal(t, c["menu_principale"], all["menu_principale"])
	require.Len(t, all, len(c)+3)
}
