// Package queue is centralino's agent queues on Redis, shared by every
// controller instance (SPEC §4): callers ordered by priority then first
// entry (a returning recall keeps its time), agents with states and skills,
// the longest-idle ready agent takes the head caller. Every change that
// spans keys is a Lua script, atomic in Redis.
//
// This milestone has the shared store and its rules; the ARI side (ring
// the agent, bridge, announcements, the two-minute offer) comes next.
package queue
