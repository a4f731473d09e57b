// Package queue is centralino's agent queues on Redis, shared by every
// controller instance (SPEC §4): callers ordered by priority then first
// entry (a returning recall keeps its time), agents with states and skills,
// the longest-idle ready agent takes the head caller. Every change that
// spans keys is a Lua script, atomic in Redis.
//
// Operator serves the IVR's operator branch on it: the instance holding a
// caller's channel waits with it (music, announcements, the two-minute
// recall offer), rings the agent a dispatcher paired it with, and bridges
// them. While nobody waits, the instance holding a queue's Lease rings its
// longest-idle agent the moment a caller arrives and tells Redis after.
// Service holds the agents' rules and their desktop API.
package queue
