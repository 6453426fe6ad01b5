package memcached

import (
	"bytes"
	"strconv"
	"time"
)

// An entry whose ttl is over 30 days is stored with an absolute expiry:
// the Unix second it ends at (see expiration). memcached reports the
// time left as seconds from its own clock, which it advances once a
// second and which runs late when that tick is late (a busy machine, a
// stopped process): read against this machine's clock, the seconds left
// would be up to a second or more too many, and an Incr that wrote them
// back as a new absolute time would push the expiry later each time.
// absoluteExpiry recovers the expiry itself from the server's clock, read
// just before and just after the entry; secondsLeft turns an expiry into
// the time left by this machine's clock.

// serverClock returns the server's clock: the Unix second its expiry
// decisions use ("time" of the stats command).
func (c *rawConn) serverClock() (int64, error) {
	if err := c.command("stats"); err != nil {
		return 0, err
	}
	clock := int64(-1)
	for {
		l, err := c.line()
		if err != nil {
			return 0, err
		}
		if bytes.Equal(l, []byte("END")) {
			break
		}
		if err := errorReply(l); err != nil {
			return 0, err
		}
		if v, ok := bytes.CutPrefix(l, []byte("STAT time ")); ok {
			if clock, err = strconv.ParseInt(string(v), 10, 64); err != nil {
				return 0, &protocolError{msg: "bad stats time " + strconv.Quote(string(l))}
			}
		}
	}
	if clock < 0 {
		return 0, &protocolError{msg: "stats without time"}
	}
	return clock, nil
}

// clockTries bounds the reads absoluteExpiry makes to see the server's
// clock hold still across one.
const clockTries = 3

// absoluteExpiry runs read (a meta get of an entry that reports secs
// seconds left) between two readings of the server's clock, and returns
// the Unix second the entry expires at: the clock plus secs, exact when
// the clock did not tick in between (tried up to clockTries times), else
// a lower bound. It returns what the last read returned as well.
func (c *rawConn) absoluteExpiry(read func() (secs int64, ok bool, err error)) (expiry, secs int64, ok bool, err error) {
	for try := 1; ; try++ {
		before, err := c.serverClock()
		if err != nil {
			return 0, 0, false, err
		}
		if secs, ok, err = read(); err != nil || !ok {
			return 0, secs, ok, err
		}
		after, err := c.serverClock()
		if err != nil {
			return 0, 0, false, err
		}
		if before == after || try == clockTries {
			return before + secs, secs, true, nil
		}
	}
}

// secondsLeft returns the time an entry that expires at the Unix second
// expiry (or, when expiry is 0, one the server counts secs seconds for)
// is sure to live, and never more than the ttl it was written with:
// expiration added up to two seconds to the ttl (rounding it up to a
// whole second, and one for the server's clock), so two are taken off.
// An entry in its last seconds reports a millisecond.
func secondsLeft(expiry, secs int64, now time.Time) time.Duration {
	var left time.Duration
	if expiry != 0 {
		left = time.Unix(expiry, 0).Sub(now)
	} else {
		left = time.Duration(secs) * time.Second
	}
	left -= 2 * time.Second
	if left < time.Millisecond {
		return time.Millisecond
	}
	return left
}
