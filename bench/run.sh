#!/bin/sh
# bench/run.sh [smtp-in|smtp-out|read|all] [BASE] - Facteur beside Postfix + Dovecot
#
# Needs root (the anchors create the vmail user and run Postfix/Dovecot as
# they are packaged).  Installs Debian's postfix, dovecot-imapd and
# dovecot-pop3d when missing and removes them again at the end (they
# conflict with the facteur package that tests/integration/test_package.py
# installs), starts the anchors' private Postfix + Dovecot on loopback
# ($ANCHORS/up.sh, default ../shared/anchors/postfix-dovecot) and a Facteur
# instance configured the same way (bench/facteur_up.sh), runs the same
# load against both in one run, and prints the ratios that go into
# bench/RESULTS.md.  Data under BASE (default /var/tmp/facteur-bench).
set -eu
what=${1:-all}
base=${2:-/var/tmp/facteur-bench}
top=$(cd "$(dirname "$0")/.." && pwd)
anchors=${ANCHORS:-$top/../shared/anchors/postfix-dovecot}
out=$top/bench/results
mkdir -p "$out"

installed=""
for p in postfix dovecot-imapd dovecot-pop3d; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		installed="$installed $p"
done
if [ -n "$installed" ]; then
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
		--no-install-recommends $installed >/dev/null
fi
# An earlier run's files are moved away, not deleted, until the end:
# on ext4 without a journal every deletion slows down the file creations
# of the next minutes (benchlib.set_aside()).
old_base=""
if [ -e "$base" ]; then
	old_base=$(mktemp -d "$base.old.XXXXXX")
	mv "$base" "$old_base/"
fi
mkdir -p "$base"
cleanup() {
	"$anchors/down.sh" "$base" >/dev/null 2>&1 || true
	"$base/facteur/usr/sbin/facteur" stop >/dev/null 2>&1 || true
	rm -rf "$base/bench-trash" ${old_base:+"$old_base"}
	if [ -n "$installed" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=300 \
			$installed >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
ulimit -n 20000

"$anchors/up.sh" "$base" --fresh
"$top/bench/facteur_up.sh" "$base"

case $what in
smtp-in | all)
	for mode in persist perconn; do
		python3 "$top/bench/bench_smtp_in.py" "$base" --mode $mode \
			--out "$out/smtp_in_$mode.json" | tee "$out/smtp_in_$mode.txt"
	done
	python3 "$top/bench/bench_delay.py" "$base" --out "$out/smtp_delay.json" |
		tee "$out/smtp_delay.txt"
	;;
esac
case $what in
smtp-out | all)
	python3 "$top/bench/bench_smtp_out.py" "$base" --out "$out/smtp_out.json" |
		tee "$out/smtp_out.txt"
	;;
esac
case $what in
read | all)
	read="python3 $top/bench/bench_read.py $base"
	$read seed
	$read imap --cold --out "$out/imap_cold.json" | tee "$out/imap_cold.txt"
	$read imap --reps 5 --out "$out/imap_warm.json" | tee "$out/imap_warm.txt"
	$read pop3 --out "$out/pop3.json" | tee "$out/pop3.txt"
	$read logins --out "$out/logins.json" | tee "$out/logins.txt"
	# 1000 Dovecot imap processes share uid vmail (default limit 128).
	orig=$(cat /proc/sys/fs/inotify/max_user_instances)
	sysctl -qw fs.inotify.max_user_instances=2048
	$read idle --n 1000 --out "$out/idle.json" | tee "$out/idle.txt"
	sysctl -qw fs.inotify.max_user_instances="$orig"
	# (a) again on 50,000 messages, written straight into new/.
	$read seed --n 50000 --direct
	$read imap --cold --reps 2 --out "$out/imap50k_cold.json" | tee "$out/imap50k_cold.txt"
	$read imap --reps 3 --out "$out/imap50k_warm.json" | tee "$out/imap50k_warm.txt"
	;;
esac
