package route

import "time"

// interval is a compiled TimeInterval.
type interval struct {
	name  string
	loc   *time.Location
	times [][2]int // [start, end) in minutes since midnight
	days  uint8    // bit per time.Weekday; 0 = every day
}

func compileInterval(ti TimeInterval) (*interval, error) {
	loc, err := loadLocation(ti.Location)
	if err != nil {
		return nil, err
	}
	iv := &interval{name: ti.Name, loc: loc}
	for _, tr := range ti.Times {
		s, err := parseClock(tr.StartTime)
		if err != nil {
			return nil, err
		}
		e, err := parseClock(tr.EndTime)
		if err != nil {
			return nil, err
		}
		iv.times = append(iv.times, [2]int{s, e})
	}
	for _, w := range ti.Weekdays {
		d, err := parseWeekdays(w)
		if err != nil {
			return nil, err
		}
		iv.days |= d
	}
	return iv, nil
}

// contains reports whether t falls in the interval, judged by the wall
// clock of the interval's location: "09:00" in Europe/Paris follows
// daylight saving time.
func (iv *interval) contains(t time.Time) bool {
	t = t.In(iv.loc)
	if iv.days != 0 && iv.days&(1<<t.Weekday()) == 0 {
		return false
	}
	if len(iv.times) == 0 {
		return true
	}
	m := t.Hour()*60 + t.Minute()
	for _, r := range iv.times {
		if m >= r[0] && m < r[1] {
			return true
		}
	}
	return false
}
