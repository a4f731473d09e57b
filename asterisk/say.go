package asterisk

import (
	"fmt"
	"time"
)

// Italian builds media that say values in Italian with Asterisk's Italian
// core sounds (Debian's it_IT_m_Carlo voice, language "it") and Asterisk's
// own number and digit rules for that language.
type Italian struct {
	// Loc is where dates and hours are said (Europe/Rome).
	Loc *time.Location
	// PromptDir holds the generated words the core sounds lack ("alle
	// ore").
	PromptDir string
}

// Digits says a string of digits one by one ("3 4 7 ...").
func (Italian) Digits(s string) []string {
	if s == "" {
		return nil
	}
	return []string{"digits:" + s}
}

// Number says a whole number the Italian way ("ventuno", "cento",
// "duemila").
func (Italian) Number(n int) []string { return []string{fmt.Sprintf("number:%d", n)} }

// Date says "lunedì 3 marzo" ("primo" on the first of the month).
func (it Italian) Date(t time.Time) []string {
	l := t.In(it.Loc)
	m := []string{fmt.Sprintf("sound:digits/day-%d", int(l.Weekday()))}
	if l.Day() == 1 {
		m = append(m, "sound:digits/h-1")
	} else {
		m = append(m, fmt.Sprintf("number:%d", l.Day()))
	}
	return append(m, fmt.Sprintf("sound:digits/mon-%d", int(l.Month())-1))
}

// Time says "alle ore 9" or "alle ore 9 e 30".
func (it Italian) Time(t time.Time) []string {
	l := t.In(it.Loc)
	m := []string{"sound:" + it.PromptDir + "/alle_ore", fmt.Sprintf("number:%d", l.Hour())}
	if l.Minute() != 0 {
		m = append(m, "sound:digits/e", fmt.Sprintf("number:%d", l.Minute()))
	}
	return m
}

// DateTime says "lunedì 3 marzo alle ore 9 e 30".
func (it Italian) DateTime(t time.Time) []string {
	return append(it.Date(t), it.Time(t)...)
}
