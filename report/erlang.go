package report

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Load is the traffic offered to the agents in an interval: Calls
// arriving at random in Interval, each taking an agent AHT (talk and
// wrap-up).
type Load struct {
	Calls    float64
	Interval time.Duration
	AHT      time.Duration
}

// Erlangs is the traffic intensity: the agents busy on average.
func (l Load) Erlangs() float64 {
	if l.Interval <= 0 {
		return 0
	}
	return l.Calls * l.AHT.Seconds() / l.Interval.Seconds()
}

// Staffing is what Erlang C expects of Agents serving a Load.
type Staffing struct {
	Agents int `json:"agents"`
	// ServiceLevel is the share of calls answered within the target wait.
	ServiceLevel float64 `json:"service_level"`
	// ASASeconds is the average speed of answer, all calls.
	ASASeconds float64 `json:"asa_s"`
	// Occupancy is the share of their time the agents are busy.
	Occupancy float64 `json:"occupancy"`
}

// ErlangC is the probability that a call waits with n agents offered a
// erlangs (1 when n ≤ a: the queue never empties). It runs Erlang B's
// recursion, B(k) = a·B(k−1) / (k + a·B(k−1)), which neither overflows
// nor loses precision the way a^n/n! does for hundreds of agents, then
// C = n·B / (n − a·(1 − B)).
func ErlangC(n int, a float64) float64 {
	if a <= 0 {
		return 0
	}
	if float64(n) <= a {
		return 1
	}
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return float64(n) * b / (float64(n) - a*(1-b))
}

// With is what n agents give: the service level within the target wait,
// the ASA and the occupancy.
func (l Load) With(n int, within time.Duration) Staffing {
	a := l.Erlangs()
	if a == 0 {
		return Staffing{Agents: n, ServiceLevel: 1}
	}
	if float64(n) <= a {
		// Overloaded: the wait grows without bound.
		return Staffing{Agents: n, ServiceLevel: 0, ASASeconds: math.Inf(1), Occupancy: 1}
	}
	c := ErlangC(n, a)
	aht := l.AHT.Seconds()
	spare := float64(n) - a
	return Staffing{Agents: n,
		ServiceLevel: 1 - c*math.Exp(-spare*within.Seconds()/aht),
		ASASeconds:   c * aht / spare,
		Occupancy:    a / float64(n)}
}

// ErrTarget: a service level target must be between 0 and 1, excluded.
var ErrTarget = errors.New("the target service level must be between 0 and 1, excluded")

// Staff is the fewest agents whose service level within the target wait
// reaches target, and what they give. No calls need no agent.
func (l Load) Staff(target float64, within time.Duration) (Staffing, error) {
	if !(target > 0 && target < 1) {
		return Staffing{}, ErrTarget
	}
	if l.Calls < 0 || l.Interval <= 0 || l.AHT <= 0 || within < 0 {
		return Staffing{}, fmt.Errorf("report: calls ≥ 0, a positive interval and handle time, and a wait ≥ 0 are required")
	}
	a := l.Erlangs()
	if a == 0 {
		return l.With(0, within), nil
	}
	// Past a·2 + 100 agents every call is answered at once to the last
	// decimal: a target not met there cannot be met.
	for n := int(math.Floor(a)) + 1; float64(n) <= 2*a+100; n++ {
		if s := l.With(n, within); s.ServiceLevel >= target {
			return s, nil
		}
	}
	return Staffing{}, fmt.Errorf("report: %.0f %% within %s is out of reach for %.1f erlangs", target*100, within, a)
}
