package app_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/callsim/sipua"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/postgres"
	"github.com/centralino-cup/centralino/prompts"
	"github.com/centralino-cup/centralino/recall"
)

// The numero verde over real SIP: the daemon is the numero verde's
// application, citizens call it through the sandbox's carrier trunk
// (deploy/asterisk/pjsip_site.conf.template: From-only or with
// P-Asserted-Identity, A-law, RFC 4733 DTMF), agents answer on desks that
// register with digest auth, and recalls leave through the trunk. The
// user agents are Debian's baresip and SIPp (callsim/sipua).

// sipRig is the daemon as application `centralino` on the sandbox, at
// Monday 2 March 2026, 10:00 in Rome (time runs on), with a cardiology
// agenda.
type sipRig struct {
	t    *testing.T
	cfg  config.Config
	now  clock.Clock // the daemon's
	base string
	db   *pgxpool.Pool
	sim  *callsim.Simulator
}

// desks are the sandbox's SIP desks the test agents sit at, and the
// development password they register with.
const deskPassword = "centralino"

var desks = map[string]string{"luca": "agent101", "sara": "agent102", "gino": "agent103"}

func newSIPRig(t *testing.T, tune func(*config.Config)) *sipRig {
	t.Helper()
	cfg := testConfig(t) // skips without the sandbox, outside make test
	asteristest.LockCentralino(t)
	cfg.ARI.Application = "centralino" // the trunk's DID enters it
	cfg.Queue.Instance = "t-sip"
	cfg.Recall.DialString = "PJSIP/{national}@carrier"
	if tune != nil {
		tune(&cfg)
	}
	// Agents and callers of an earlier test are not this one's.
	opts, err := redis.ParseURL(cfg.Redis.URL)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	require.NoError(t, rdb.FlushDB(context.Background()).Err())
	rdb.Close()

	ctx := context.Background()
	db, err := postgres.Open(ctx, cfg.Database.URL, 2)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	for _, sql := range []string{
		`insert into services values ('VCARD','Visita cardiologica','Visita cardiologica','visit',20)`,
		`insert into sites (name, short_name, address, city, owner_kind, owner_name) values
			('Ospedale Policlinico San Martino','Policlinico San Martino','Largo Rosanna Benzi 10','Genova','hospital','IRCCS San Martino')`,
		`insert into agendas (site_id, service_code, name) values (1,'VCARD','Cardiologia San Martino')`,
	} {
		_, err := db.Exec(ctx, sql)
		require.NoError(t, err)
	}

	rome, err := time.LoadLocation("Europe/Rome")
	require.NoError(t, err)
	offset := time.Date(2026, 3, 2, 10, 0, 0, 0, rome).Sub(time.Now())
	now := func() time.Time { return time.Now().Add(offset) }
	signals, ran := run(cfg, now)
	t.Cleanup(func() {
		signals <- syscall.SIGTERM
		select {
		case err := <-ran:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("the daemon did not stop on SIGTERM")
		}
	})
	r := &sipRig{t: t, cfg: cfg, now: now, base: "http://" + cfg.HTTP.Listen, db: db}
	series := `centralino_ari_connected{application="centralino"} 1`
	require.Eventually(t, func() bool { return strings.Contains(scrape(t, r.base), series) }, 20*time.Second, 50*time.Millisecond,
		"connected to Asterisk")
	r.sim = callsim.New(asteristest.Config(t, asteristest.App("t-sipsim")), prometheus.NewRegistry(), asteristest.Quiet())
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	require.NoError(t, r.sim.Start(sctx))
	t.Cleanup(r.sim.Stop)
	return r
}

// desk starts the SIP phone of agent's desk, registered, answering at
// once.
func (r *sipRig) desk(agent string) *sipua.Phone {
	return sipua.StartPhone(r.t, sipua.PhoneConfig{User: desks[agent], Password: deskPassword, AutoAnswer: true})
}

// ready logs agent in on the booking queue and makes it ready.
func (r *sipRig) ready(agent string) {
	r.t.Helper()
	code, body := do(r.t, "POST", r.base+"/api/v1/agent/login", agent, `{"queues":["booking"]}`)
	require.Equal(r.t, http.StatusNoContent, code, body)
	code, body = do(r.t, "POST", r.base+"/api/v1/agent/ready", agent, "")
	require.Equal(r.t, http.StatusNoContent, code, body)
}

// agent is the state and pause reason the desktop API shows agent.
func (r *sipRig) agent(agent string) string {
	_, body := do(r.t, "GET", r.base+"/api/v1/agent", agent, "")
	state := regexp.MustCompile(`"state":"([a-z_]+)"`).FindStringSubmatch(body)
	reason := regexp.MustCompile(`"reason":"([a-z_]+)"`).FindStringSubmatch(body)
	switch {
	case state == nil:
		return body
	case reason == nil:
		return state[1]
	}
	return state[1] + " " + reason[1]
}

// citizen is a caller over SIP: a baresip phone whose number the carrier
// sends in From, followed by the simulator as it goes through the IVR.
type citizen struct {
	r     *sipRig
	phone *sipua.Phone
	call  *callsim.Call
	next  int
}

// dial calls the numero verde through the trunk from number and waits for
// the IVR to answer.
func (r *sipRig) dial(number string) *citizen {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	phone := sipua.StartPhone(r.t, sipua.PhoneConfig{User: number})
	call, err := r.sim.Follow(ctx, number, phone)
	require.NoError(r.t, err)
	require.NoError(r.t, phone.Dial(ctx, "sip:"+sipua.NumeroVerde+"@"+sipua.Server))
	_, err = phone.Wait(ctx, "CALL_ESTABLISHED", 0)
	require.NoError(r.t, err)
	return &citizen{r: r, phone: phone, call: call}
}

// hear waits for catalogue prompts, in order.
func (c *citizen) hear(ids ...string) {
	c.r.t.Helper()
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		i, err := c.call.WaitMedia(ctx, prompts.Sound(id), c.next)
		cancel()
		require.NoError(c.r.t, err, "waiting for %s", id)
		c.next = i + 1
	}
}

// ask waits for a question and keys the answer.
func (c *citizen) ask(id, keys string) {
	c.r.t.Helper()
	c.hear(id)
	require.NoError(c.r.t, c.call.Key(context.Background(), keys))
}

// record is the call's row, once ended.
func (r *sipRig) record(channel string) (caller, outcome string) {
	r.t.Helper()
	var ended bool
	require.Eventually(r.t, func() bool {
		var number *string
		err := r.db.QueryRow(context.Background(), `select caller, outcome::text, ended_at is not null from calls where channel_id=$1`, channel).
			Scan(&number, &outcome, &ended)
		if number != nil {
			caller = *number
		}
		return err == nil && ended
	}, 20*time.Second, 50*time.Millisecond, "the call's record ended")
	return caller, outcome
}

// rtp is how many RTP packets Asterisk received from and sent to a SIP
// channel's peer.
func rtp(t *testing.T, channel string) (rx, tx int) {
	stats := asteristest.Var(t, channel, "CHANNEL(rtcp,all)")
	for _, kv := range strings.Split(stats, ";") {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "rxcount":
			rx = n
		case "txcount":
			tx = n
		}
	}
	return rx, tx
}

// A carrier that sends the citizen's number in From only: the IVR sees
// that number (an endpoint's callerid would replace it with the numero
// verde). One that anonymises From and asserts the caller in
// P-Asserted-Identity: the IVR sees the asserted number.
func TestSIPCallerIDFromTheCarrier(t *testing.T) {
	r := newSIPRig(t, nil)
	for _, c := range []struct {
		name, from, pai, want string
	}{
		{"from only", "<sip:3471234567@127.0.0.1>", "", "+393471234567"},
		{"asserted", `"Anonymous" <sip:anonymous@anonymous.invalid>`, "P-Asserted-Identity: <sip:+393471234568@127.0.0.1>\r\n", "+393471234568"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ua := sipua.StartSIPp(t, sipua.Scenario{XML: callerScenario(c.from, c.pai), Args: []string{"-s", sipua.NumeroVerde}})
			require.NoError(t, ua.Wait(ctx))
			var channel string
			require.NoError(t, r.db.QueryRow(ctx, `select channel_id from calls order by started_at desc limit 1`).Scan(&channel))
			caller, outcome := r.record(channel)
			require.Equal(t, c.want, caller)
			require.Equal(t, "hung_up", outcome, "hung up during the welcome")
		})
	}
}

// callerScenario is a carrier's call to the numero verde with these From
// and extra headers: answered, two seconds of the welcome, then BYE.
func callerScenario(from, headers string) string {
	return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier call">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: ` + from + `;tag=[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:carrier@[local_ip]:[local_port]>
` + headers + `Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=carrier 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendrecv
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: ` + from + `;tag=[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>
  <pause milliseconds="2000"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: ` + from + `;tag=[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
`
}

// A citizen on a SIP phone books by NRE and birth date with RFC 4733
// keys; calling again, keys 0 and talks to an agent on a SIP desk, with
// RTP both ways.
func TestSIPCitizenBooksThenTalksToAnAgent(t *testing.T) {
	r := newSIPRig(t, nil)
	ctx := context.Background()
	slot := time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC)
	var slotID int64
	require.NoError(t, r.db.QueryRow(ctx, `insert into slots (agenda_id, service_code, starts_at, ends_at) values (1,'VCARD',$1,$2) returning id`,
		slot, slot.Add(20*time.Minute)).Scan(&slotID))
	_, err := r.db.Exec(ctx, `insert into prescriptions values ('070A44000000001','RSSMRA80A31D969X','1980-01-31','VCARD','D',$1)`,
		time.Date(2026, 2, 27, 9, 0, 0, 0, time.UTC))
	require.NoError(t, err)

	c := r.dial("3471234567")
	c.ask("menu_principale", "1")
	c.ask("digita_nre", "4000000001")
	c.ask("digita_data_nascita", "31011980")
	c.hear("prestazione_richiesta", "primo_disponibile", "presso")
	c.ask("scelta_appuntamento", "1")
	c.hear("prenotazione_confermata")
	var phone string
	require.NoError(t, r.db.QueryRow(ctx, `select phone from bookings where slot_id=$1 and status='booked' and channel='ivr'`, slotID).Scan(&phone))
	require.Equal(t, "+393471234567", phone, "booked for the number the carrier sent")
	require.NoError(t, c.phone.Hangup(ctx))

	desk := r.desk("luca")
	r.ready("luca")
	c = r.dial("3471234568")
	c.ask("menu_principale", "0")
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err = desk.Wait(rctx, "CALL_ESTABLISHED", 0)
	require.NoError(t, err, "the desk answered")
	require.Eventually(t, func() bool { return r.agent("luca") == "busy" }, 2*time.Second, 50*time.Millisecond, "talking")
	caller, err := c.call.Channel(rctx)
	require.NoError(t, err)
	agent := asteristest.Channel(t, "PJSIP/agent101-")
	require.NotEmpty(t, agent, "the desk's channel")
	require.Eventually(t, func() bool {
		crx, ctx2 := rtp(t, caller)
		arx, atx := rtp(t, agent)
		return crx > 50 && ctx2 > 50 && arx > 50 && atx > 50
	}, 10*time.Second, 200*time.Millisecond, "RTP from and to both phones")
	require.NoError(t, c.phone.Hangup(ctx))
	_, err = desk.Wait(rctx, "CALL_CLOSED", 0)
	require.NoError(t, err, "the desk is hung up with the citizen")
	_, outcome := r.record(caller)
	require.Equal(t, "agent_answered", outcome)
}

// A citizen's phone vanishes while waiting for an operator (no BYE, no
// more RTP): the trunk's RTP timeout (10 s in the sandbox) hangs the call
// up and it leaves the queue abandoned, instead of reaching the next
// agent who gets ready.
func TestSIPVanishedCallerHungUpByTheRTPTimeout(t *testing.T) {
	r := newSIPRig(t, nil)
	c := r.dial("3471234569")
	c.ask("menu_principale", "0")
	c.hear("posizione_in_coda")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	channel, err := c.call.Channel(ctx)
	require.NoError(t, err)
	c.phone.Vanish()
	gone := time.Now()
	select {
	case <-c.call.Ended():
	case <-time.After(15 * time.Second):
		t.Fatal("the call is still up 15 s after its caller vanished")
	}
	hungUp := time.Since(gone)
	require.Greater(t, hungUp, 8*time.Second, "hung up by the timeout, not by something else")
	_, outcome := r.record(channel)
	require.Equal(t, "abandoned", outcome)
	var waiting int
	require.NoError(t, r.db.QueryRow(context.Background(), `select count(*) from calls where queue_name='booking' and ended_at is null`).Scan(&waiting))
	require.Zero(t, waiting)
}

// A desk that unregisters is not rung: its agent is paused with reason
// unregistered, cannot be ready until the desk registers again, and then
// can.
func TestSIPUnregisteredDeskIsNotRung(t *testing.T) {
	r := newSIPRig(t, nil)
	desk := r.desk("sara")
	r.ready("sara")
	require.Equal(t, "ready", r.agent("sara"))
	desk.Stop() // unregisters
	require.Eventually(t, func() bool { return r.agent("sara") == "paused unregistered" }, 5*time.Second, 100*time.Millisecond,
		"paused once the desk is gone")
	code, body := do(t, "POST", r.base+"/api/v1/agent/ready", "sara", "")
	require.Equal(t, http.StatusConflict, code)
	require.Contains(t, body, `"phone_unregistered"`)

	c := r.dial("3471234570")
	c.ask("menu_principale", "0")
	c.hear("posizione_in_coda")
	time.Sleep(2 * time.Second)
	require.Equal(t, "paused unregistered", r.agent("sara"), "not rung")

	desk = r.desk("sara") // registers again
	code, body = do(t, "POST", r.base+"/api/v1/agent/ready", "sara", "")
	require.Equal(t, http.StatusNoContent, code, body)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := desk.Wait(ctx, "CALL_ESTABLISHED", 0)
	require.NoError(t, err, "the waiting caller reaches the desk")
	require.NoError(t, c.phone.Hangup(ctx))
}

// A recall leaves through the trunk: the agent's desk is rung first, then
// the citizen (SIPp at the carrier's address) sees the numero verde in
// From and P-Asserted-Identity, answers, and is bridged to the agent.
func TestSIPRecallThroughTheTrunk(t *testing.T) {
	r := newSIPRig(t, nil)
	desk := r.desk("gino")
	citizen := sipua.StartSIPp(t, sipua.Scenario{XML: recalledScenario, Port: 5062})
	r.ready("gino")
	recalls := recall.NewService(r.db, r.now, asteristest.Quiet())
	a, err := recalls.Request(context.Background(), recall.Request{Phone: "+393471234571", Reason: recall.ReasonOutOfHours})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	_, err = desk.Wait(ctx, "CALL_ESTABLISHED", 0)
	require.NoError(t, err, "the agent answered first")
	require.NoError(t, citizen.Wait(ctx), "the citizen saw the numero verde, answered and hung up")
	_, err = desk.Wait(ctx, "CALL_CLOSED", 0)
	require.NoError(t, err, "the agent is hung up with the citizen")
	var status string
	require.Eventually(t, func() bool {
		return r.db.QueryRow(ctx, `select status::text from recall_requests where id=$1`, a.ID).Scan(&status) == nil && status == "connected"
	}, 10*time.Second, 100*time.Millisecond, "the recall connected")
}

// recalledScenario is the citizen a recall calls: the INVITE must present
// the numero verde in From and P-Asserted-Identity (a check that fails
// fails the call); it answers, talks (A-law RTP) for three seconds and
// hangs up.
var recalledScenario = fmt.Sprintf(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="recalled citizen">
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="sip:%[1]s@" search_in="hdr" header="From:" check_it="true" assign_to="from"/>
      <ereg regexp="sip:%[1]s@" search_in="hdr" header="P-Asserted-Identity:" check_it="true" assign_to="pai"/>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="caller"/>
      <ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact"/>
    </action>
  </recv>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0
]]></send>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=citizen 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv
]]></send>
  <recv request="ACK" rtd="true" crlf="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="callee"/>
    </action>
  </recv>
  <nop><action><exec play_pcap_audio="%[2]s/g711a.pcap"/></action></nop>
  <pause milliseconds="3000"/>
  <send retrans="500"><![CDATA[
BYE [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$callee]
To: [$caller]
[last_Call-ID:]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
  <Reference variables="from,pai"/>
</scenario>
`, sipua.NumeroVerde, sipua.Captures)
