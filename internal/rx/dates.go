package rx

import (
	"regexp"
	"strconv"
	"time"
)

// Dates and times on the record are strings, as the Spine keeps them:
// YYYYMMDD and YYYYMMDDhhmmss, compared as strings.
const (
	dateLayout     = "20060102"
	dateTimeLayout = "20060102150405"
)

func fmtDate(t time.Time) string { return t.Format(dateLayout) }
func fmtTime(t time.Time) string { return t.Format(dateTimeLayout) }

// parseDate reads the date part of a YYYYMMDD[hhmmss] string.
func parseDate(s string) (time.Time, bool) {
	if len(s) < 8 {
		return time.Time{}, false
	}
	t, err := time.Parse(dateLayout, s[:8])
	return t, err == nil
}

// validDate is ESS _check_standard_date: exactly 8 characters, a real date.
func validDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	_, err := time.Parse(dateLayout, s)
	return err == nil
}

var intlTime = regexp.MustCompile(`^[0-9]{14}[+-][0-9]{4}$`)

// normaliseTime is ESS _check_standard_date_time: 14 characters
// (YYYYMMDDhhmmss), or 19 in the international form (…±hhmm), which is
// converted to GMT. It reports false for anything else.
func normaliseTime(s string) (string, bool) {
	switch len(s) {
	case 14:
		if _, err := time.Parse(dateTimeLayout, s); err != nil {
			return "", false
		}
		return s, true
	case 19:
		if !intlTime.MatchString(s) {
			return "", false
		}
		t, err := time.Parse("20060102150405-0700", s)
		if err != nil {
			return "", false
		}
		return fmtTime(t.UTC()), true
	}
	return "", false
}

// addDays adds n days to a YYYYMMDD date ("" stays "").
func addDays(date string, n int) string {
	t, ok := parseDate(date)
	if !ok {
		return ""
	}
	return fmtDate(t.AddDate(0, 0, n))
}

// addMonths adds n months the way Python's relativedelta does: the day is
// clamped to the end of a shorter month (31 August + 6 months = 28/29 February).
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, t.Hour(), t.Minute(), t.Second(), 0, t.Location())
}

// addYears adds n years with the same clamping (29 February → 28 February).
func addYears(t time.Time, n int) time.Time { return addMonths(t, 12*n) }

func addMonthsDate(date string, n int) string {
	t, ok := parseDate(date)
	if !ok {
		return ""
	}
	return fmtDate(addMonths(t, n))
}

// atoi reads a non-negative integer as ESS REGEX_INTEGER12 allows (1–12 digits).
func atoi(s string) (int, bool) {
	if len(s) == 0 || len(s) > 12 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// minDate returns the earlier of two YYYYMMDD dates, ignoring "".
func minDate(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case a < b:
		return a
	}
	return b
}
