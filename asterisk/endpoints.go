package asterisk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/CyCoreSystems/ari/v5"
)

// Registered tells, for each endpoint given, whether it can be rung now:
// a PJSIP endpoint by name ("PJSIP/agent101") needs a contact that is not
// unreachable (a registered desk, or a static contact); a SIP URI through
// an endpoint ("PJSIP/agent101/sip:…"), a Local channel or any other
// technology is taken as reachable. One request answers for them all.
func (c *Client) Registered(ctx context.Context, endpoints []string) (map[string]bool, error) {
	out := make(map[string]bool, len(endpoints))
	var sip []string
	for _, e := range endpoints {
		if name, ok := strings.CutPrefix(e, "PJSIP/"); ok && !strings.ContainsAny(name, "/@") {
			sip = append(sip, e)
			continue
		}
		out[e] = true
	}
	if len(sip) == 0 {
		return out, nil
	}
	resp, err := c.rest(ctx, http.MethodGet, "/endpoints/PJSIP", "endpoints")
	if err != nil {
		return nil, fmt.Errorf("listing SIP endpoints: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("listing SIP endpoints: ari answered %s", resp.Status)
	}
	var list []struct{ Resource, State string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("listing SIP endpoints: %w", err)
	}
	online := make(map[string]bool, len(list))
	for _, e := range list {
		online["PJSIP/"+e.Resource] = e.State == "online"
	}
	for _, e := range sip {
		out[e] = online[e] // an endpoint Asterisk does not know cannot be rung
	}
	return out, nil
}

// WatchCaller is Watch for the next channel created with this caller
// number: a call that comes from outside (over SIP, with an id Asterisk
// chose), watched from its first event. It needs Config.SubscribeAll.
func (c *Client) WatchCaller(ctx context.Context, number string) (*Watch, error) {
	if !c.cfg.SubscribeAll {
		return nil, fmt.Errorf("watching calls from %s: the application does not subscribe to all events", number)
	}
	w := &Watch{client: c, box: newMailbox(), found: make(chan struct{})}
	c.mu.Lock()
	c.callers[number] = w
	c.mu.Unlock()
	return w, nil
}

// Found waits until a WatchCaller watch has its channel, and returns its
// id.
func (w *Watch) Found(ctx context.Context) (string, error) {
	if w.found == nil {
		return w.id, nil
	}
	select {
	case <-w.found:
		w.client.mu.Lock()
		defer w.client.mu.Unlock()
		return w.id, nil
	case <-ctx.Done():
		return "", fmt.Errorf("no call seen: %w", ctx.Err())
	}
}

// foundCaller gives a channel just created to the watch waiting for its
// caller number, if any.
func (c *Client) foundCaller(ch ari.ChannelData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.callers[ch.Caller.Number]
	if w == nil {
		return
	}
	delete(c.callers, ch.Caller.Number)
	w.id = ch.ID
	c.watches[ch.ID] = w.box
	close(w.found)
}
