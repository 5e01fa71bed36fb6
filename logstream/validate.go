package logstream

import (
	"fmt"
	"time"
)

// ValidateStream is the one validation of a stream's configuration, used by
// StreamLog (through TailOptions.Normalize), the simulator (sim.Config) and
// scenario files alike, so that all three reject the same configurations
// with the same message. o are the sender's options; idle is the receivers'
// idle timeout (0: off or unknown), which the sender takes as its own
// IdleTimeout when it has none. It returns o normalized (defaults filled in)
// or an *OptionError naming the first bad parameter.
//
// Beyond each parameter's own range (see Normalize) it requires, when the
// idle timeout I is known:
//
//   - LivenessInterval < I: a quiet but healthy stream gets a heartbeat
//     before its receiver gives up;
//   - LivenessInterval + ChunkTimeout < I: a healthy target may wait a
//     whole ChunkTimeout behind another target's lost reply before its
//     heartbeat is due, so a longer chunk timeout makes a healthy target's
//     idle timeout reachable (it times out through no fault of its own).
func ValidateStream(o TailOptions, idle time.Duration) (TailOptions, error) {
	if idle < 0 {
		return o, &OptionError{"IdleTimeout", idle, "must be >= 0 (0: off or unknown)"}
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = idle
	}
	return o.Normalize()
}

// checkTiming applies ValidateStream's rule on the chunk timeout to
// normalized options (Normalize checks the liveness interval itself, before).
func (o TailOptions) checkTiming() error {
	if o.IdleTimeout <= 0 {
		return nil
	}
	if o.LivenessInterval+o.ChunkTimeout >= o.IdleTimeout {
		return &OptionError{"ChunkTimeout", o.ChunkTimeout,
			fmt.Sprintf("LivenessInterval (%v) + ChunkTimeout must be less than IdleTimeout (%v): a healthy target waiting a whole ChunkTimeout behind another target's reply would time out",
				o.LivenessInterval, o.IdleTimeout)}
	}
	return nil
}
