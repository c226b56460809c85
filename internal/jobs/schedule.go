package jobs

import "time"

// Daily is a periodic schedule firing once a day at Hour:Minute in Location
// (the office runs on Europe/Madrid time, including DST changes, which a
// fixed 24 h interval would drift across).
type Daily struct {
	Hour, Minute int
	Location     *time.Location
}

// Next returns the first firing strictly after current.
func (d Daily) Next(current time.Time) time.Time {
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	t := current.In(loc)
	next := time.Date(t.Year(), t.Month(), t.Day(), d.Hour, d.Minute, 0, 0, loc)
	if !next.After(t) {
		next = time.Date(t.Year(), t.Month(), t.Day()+1, d.Hour, d.Minute, 0, 0, loc)
	}
	return next
}
