package synth

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// invalidUsers are account names bots try that do not exist on the gateway.
// None is a legit or compromised account.
var invalidUsers = [...]string{
	"admin", "test", "user", "oracle", "postgres", "guest", "ftpuser", "pi",
	"ubnt", "support", "git", "hadoop", "jenkins", "mysql", "nagios", "tomcat",
	"www", "web", "dev", "minecraft", "ts3", "steam", "zabbix", "ansible",
	"vagrant", "centos", "ec2-user", "debian", "odoo", "elastic", "kafka",
	"redis", "sftp", "ftp", "operator", "administrator", "demo", "sales",
	"info", "mail", "office", "server", "usuario", "test1", "test2", "testuser",
	"user1", "student", "teacher", "es", "solr", "gpadmin", "hdfs", "spark",
	"docker", "k8s", "gitlab", "nginx", "apache", "wordpress", "mongodb",
	"ubuntu-user", "tester", "qwerty", "manager", "system", "sysadmin", "www-data1",
}

// compromisedUsers are real accounts with weak passwords.
var compromisedUsers = [...]string{"root", "deploy", "backup"}

// legitNames are the legitimate users, in order; more are numbered.
var legitNames = [...]string{
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "niaj", "olivia", "peggy", "rupert", "sybil", "trent",
	"victor", "walter", "wendy", "yolanda",
}

// typoUser is the index of the legit user who mistypes once every day.
const typoUser = 1

// pickUser returns root or an invalid user the way bots mix them.
func pickUser(r *rand.Rand, rootShare float64) (string, bool) {
	if r.Float64() < rootShare {
		return "root", false
	}
	return invalidUsers[r.IntN(len(invalidUsers))], true
}

// authFail writes one connection failing tries passwords for user, the way
// sshd and pam_unix log it, from at; it returns the time of the last line.
func (g *gen) authFail(r *rand.Rand, cl class, addr netip.Addr, user string, invalid bool, tries int, at int64) int64 {
	c := g.newConn(r, cl, addr, user)
	return g.failures(r, c, invalid, tries, at, true)
}

// failures logs tries failed passwords on connection c; when closing, the
// connection then ends as sshd ends it after that many failures.
func (g *gen) failures(r *rand.Rand, c int32, invalid bool, tries int, at int64, closing bool) int64 {
	tries = min(tries, 6)
	if invalid {
		g.add(at, c, kInvalidUser, 0)
		g.add(at, c, kPamUnknown, 0)
		g.add(at, c, kPamAuthFailNoUser, 0)
	} else {
		g.add(at, c, kPamAuthFail, 0)
	}
	at += 2 + r.Int64N(2)
	failed := kFailedPassword
	if invalid {
		failed = kFailedPasswordInvalid
	}
	for i := range tries {
		if i > 0 {
			at += 2 + r.Int64N(3)
		}
		g.add(at, c, failed, 0)
	}
	if !closing {
		return at
	}
	more := kPamMore
	if invalid {
		more = kPamMoreNoUser
	}
	switch {
	case tries == 6:
		at += 2 + r.Int64N(2)
		if invalid {
			g.add(at, c, kMaxAttemptsInvalid, 0)
			g.add(at, c, kDisconnectingInvalid, 0)
		} else {
			g.add(at, c, kMaxAttempts, 0)
			g.add(at, c, kDisconnectingAuth, 0)
		}
		g.add(at, c, more, uint8(tries-1))
		g.add(at, c, kPamIgnoring, 0)
		return at
	case r.IntN(3) == 0:
		at += r.Int64N(3)
		g.add(at, c, kByeBye, 0)
		if invalid {
			g.add(at, c, kDisconnectedInvalid, 0)
		} else {
			g.add(at, c, kDisconnectedAuth, 0)
		}
	default:
		at += r.Int64N(3)
		if invalid {
			g.add(at, c, kClosedInvalid, 0)
		} else {
			g.add(at, c, kClosedAuth, 0)
		}
	}
	if tries > 1 {
		g.add(at, c, more, uint8(tries-1))
	}
	return at
}

// session logs a login's session on c from at: opened, a while of work,
// then the user's own disconnect. It returns the time of the last line.
func (g *gen) session(r *rand.Rand, c int32, at, length int64) int64 {
	g.add(at, c, kSessionOpened, 0)
	g.add(at, c, kLogindNew, 0)
	at += length
	g.add(at, c, kUserDisconnect, 0)
	g.add(at, c, kDisconnectedUser, 0)
	g.add(at, c, kSessionClosed, 0)
	g.add(at, c, kLogindLoggedOut, 0)
	at += r.Int64N(2)
	g.add(at, c, kLogindRemoved, 0)
	return at
}

// fast: bursts of connections hammering passwords, a few per attacker.
func (g *gen) fast(r *rand.Rand) {
	for i := range g.count(g.o.FastSources) {
		// The second attacker always comes over IPv6 (when any may), so
		// even a small mix exercises IPv6 brute force.
		v6 := r.Float64() < g.o.IPv6Share || (i == 1 && g.o.IPv6Share > 0)
		addr := g.alloc.attacker(v6)
		rootShare := 0.3 + 0.6*r.Float64()
		for range 1 + r.IntN(3) {
			conns := g.attempts(4+r.IntN(9), 2)
			at := g.startIn(r, int64(conns)*40)
			for range conns {
				user, invalid := pickUser(r, rootShare)
				at = g.authFail(r, clFast, addr, user, invalid, 3+r.IntN(4), at)
				at += 1 + r.Int64N(12)
			}
		}
	}
}

// slow: one attempt every 10–45 minutes for hours, never two within ten.
func (g *gen) slow(r *rand.Rand) {
	for range g.count(g.o.SlowSources) {
		addr := g.alloc.attacker(r.Float64() < g.o.IPv6Share)
		span := int64(float64(6*3600+r.Int64N(24*3600)) * g.attMul)
		span = min(max(span, 2*3600), g.d)
		start := g.startIn(r, span)
		for at := start; at < start+span; {
			user, invalid := pickUser(r, 0.8)
			g.authFail(r, clSlow, addr, user, invalid, 1, at)
			// The failure line sits 2–3 s into its connection; a gap of
			// at least 10 min + 5 s between connections keeps failures
			// more than ten minutes apart.
			at += 10*60 + 5 + r.Int64N(35*60)
		}
	}
}

// distributed: campaigns of many sources making 1–3 attempts each over a
// few hours, part of them packed into dense ranges.
func (g *gen) distributed(r *rand.Rand) {
	total := 0
	if g.o.CampaignSources > 0 {
		total = max(12, round(float64(g.o.CampaignSources)*g.srcMul))
	}
	campaigns := 0
	if total > 0 {
		campaigns = max(1, round(float64(total)/float64(max(g.o.CampaignSources, 12))))
	}
	for ci := range campaigns {
		size := total / campaigns
		if ci < total%campaigns {
			size++
		}
		span := int64(3*3600 + r.IntN(5*3600))
		span = min(span, g.d)
		start := g.startIn(r, span)
		users := []string{"root", invalidUsers[r.IntN(len(invalidUsers))], invalidUsers[r.IntN(len(invalidUsers))]}
		groups := min(g.o.DenseGroups, size/16)
		if groups == 0 && g.o.DenseGroups > 0 && size >= 10 {
			groups = 1
		}
		left := size
		for range groups {
			gs := min(8+r.IntN(5), left)
			j := g.groups
			g.groups++
			for _, addr := range g.alloc.dense(j, gs) {
				g.campaignSource(r, addr, int16(j), users, start, span)
			}
			left -= gs
		}
		for range left {
			addr := g.alloc.attacker(r.Float64() < g.o.IPv6Share)
			g.campaignSource(r, addr, -1, users, start, span)
		}
	}
}

// campaignSource logs one campaign member's 1–3 attempts.
func (g *gen) campaignSource(r *rand.Rand, addr netip.Addr, group int16, users []string, start, span int64) {
	n := 1 + r.IntN(3)
	user := users[r.IntN(len(users))]
	invalid := user != "root"
	if r.IntN(3) == 0 {
		c := g.newConn(r, clDistributed, addr, user)
		g.conns[c].group = group
		g.failures(r, c, invalid, n, start+r.Int64N(span), true)
		return
	}
	at := start + r.Int64N(max(span/2, 1))
	for range n {
		c := g.newConn(r, clDistributed, addr, user)
		g.conns[c].group = group
		at = g.failures(r, c, invalid, 1, at, true)
		at += 60 + r.Int64N(max(span/4, 1))
	}
}

// enumeration: one source walking a list of account names.
func (g *gen) enumeration(r *rand.Rand) {
	for range g.count(g.o.Enumerators) {
		addr := g.alloc.attacker(r.Float64() < g.o.IPv6Share)
		n := g.attempts(30+r.IntN(51), 8)
		names := make([]string, 0, n)
		perm := r.Perm(len(invalidUsers))
		for i := range n {
			name := invalidUsers[perm[i%len(perm)]]
			if i >= len(perm) {
				name = fmt.Sprintf("%s%d", name, i/len(perm))
			}
			names = append(names, name)
		}
		at := g.startIn(r, int64(n)*30)
		for _, name := range names {
			at = g.authFail(r, clEnumeration, addr, name, true, 1, at)
			at += 3 + r.Int64N(30)
		}
	}
}

// scanners: connections that never reach authentication.
func (g *gen) scanners(r *rand.Rand) {
	for range g.count(g.o.Scanners) {
		addr := g.alloc.attacker(r.Float64() < g.o.IPv6Share)
		n := g.attempts(15+r.IntN(36), 3)
		at := g.startIn(r, int64(n)*11*60)
		for range n {
			c := g.newConn(r, clScanner, addr, "")
			switch r.IntN(7) {
			case 0:
				g.add(at, c, kNoIdent, 0)
			case 1:
				g.add(at, c, kKexClosed, 0)
				g.add(at, c, kClosedBare, 0)
			case 2:
				g.add(at, c, kNegotiateKex, uint8(r.IntN(len(kexOffers))))
			case 3:
				g.add(at, c, kNegotiateHostKey, uint8(r.IntN(len(hostKeyOffers))))
			case 4:
				i := uint8(r.IntN(len(banners)))
				g.add(at, c, kKexInvalidIdent, i)
				g.add(at, c, kBannerInvalid, 0)
			case 5:
				g.add(at, c, kBadProtocol, uint8(r.IntN(len(banners))))
			default:
				if r.IntN(2) == 0 {
					g.add(at, c, kClosedPreauth, 0)
				} else {
					g.add(at, c, kKexReset, 0)
					g.add(at, c, kResetBare, 0)
				}
			}
			at += 30 + r.Int64N(20*60)
		}
	}
}

// compromise: about ten failures for a real account, then a login.
func (g *gen) compromise(r *rand.Rand) {
	for i := range g.count(g.o.Compromised) {
		addr := g.alloc.attacker(r.Float64() < g.o.IPv6Share)
		user := compromisedUsers[i%len(compromisedUsers)]
		uid := int32(0)
		if user != "root" {
			uid = 1500 + int32(i%len(compromisedUsers))
		}
		at := g.startIn(r, 3*3600)
		for fails := 8 + r.IntN(5); fails > 0; {
			tries := min(fails, 3+r.IntN(4))
			at = g.authFail(r, clCompromise, addr, user, false, tries, at)
			fails -= tries
			at += 3 + r.Int64N(20)
		}
		c := g.newConn(r, clCompromise, addr, user)
		g.conns[c].uid = uid
		g.add(at, c, kAcceptedPassword, 0)
		g.session(r, c, at, 120+r.Int64N(40*60))
	}
}

// legit: each user from one stable address, several logins on working days.
func (g *gen) legit(r *rand.Rand) {
	n := 0
	if g.o.LegitUsers > 0 {
		n = max(2, round(float64(g.o.LegitUsers)*min(1, g.srcMul)+float64(g.o.LegitUsers)*max(0, g.srcMul-1)/4))
	}
	type user struct {
		name   string
		addr   netip.Addr
		uid    int32
		key    string
		pubkey bool
	}
	users := make([]user, n)
	for i := range users {
		u := &users[i]
		u.name = legitNames[i%len(legitNames)]
		if i >= len(legitNames) {
			u.name = fmt.Sprintf("%s%d", u.name, i/len(legitNames))
		}
		u.addr = g.alloc.legit(i%3 == 2)
		u.uid = 1000 + int32(i)
		var k [32]byte
		for j := range k {
			k[j] = byte(r.IntN(256))
		}
		u.key = base64.RawStdEncoding.EncodeToString(k[:])
		u.pubkey = i%3 != typoUser
	}
	day0 := g.start - mod(g.start, 86400)
	for day := day0; day < g.start+g.d; day += 86400 {
		weekend := time.Unix(day, 0).UTC().Weekday()%6 == 0
		for i, u := range users {
			logins := 2 + r.IntN(4)
			if weekend {
				logins = 0
				if r.IntN(4) == 0 {
					logins = 1
				}
			}
			if i == typoUser {
				logins = max(logins, 1)
			}
			times := make([]int64, logins)
			for k := range times {
				times[k] = day - g.start + 8*3600 + r.Int64N(10*3600+1800)
			}
			slices.Sort(times)
			for k, at := range times {
				c := g.newConn(r, clLegit, u.addr, u.name)
				g.conns[c].uid = u.uid
				g.conns[c].key = u.key
				typos := 0
				switch {
				case i == typoUser && k == 0:
					typos = 1
				case !u.pubkey && r.IntN(7) == 0:
					typos = 1 + r.IntN(2)
				}
				if typos > 0 {
					at = g.failures(r, c, false, typos, at, false)
					at += 3 + r.Int64N(6)
				}
				if u.pubkey && typos == 0 {
					g.add(at, c, kAcceptedPublickey, 0)
				} else {
					g.add(at, c, kAcceptedPassword, 0)
				}
				g.session(r, c, at, 5*60+r.Int64N(3*3600))
			}
		}
	}
}
