#!/bin/sh
# bench/facteur_up.sh BASE [BUILD] - a Facteur instance for the benchmarks
#
# Installs the build tree BUILD (default build/bench, configured here when
# missing) under BASE/facteur and starts it configured like the anchors'
# Postfix + Dovecot (../shared/anchors/postfix-dovecot/up.sh): virtual
# domain example.test, users user1..user5 with password passN, Maildirs
# BASE/facteur/mail/example.test/userN/ owned by vmail when run as root,
# SMTP on 127.0.0.1:2526, IMAP on 127.0.0.1:1144 and POP3 on
# 127.0.0.1:1111 when those programs are built, plain text, no TLS.
# Everything that affects speed is Facteur's default.  The environment
# variables SMTP_PORT, IMAP_PORT and POP3_PORT move the listeners, so that
# two instances can run on one machine.
set -eu
base=${1:?usage: facteur_up.sh BASE [BUILD]}
top=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$top/build/bench}
inst=$base/facteur
smtp_port=${SMTP_PORT:-2526}
imap_port=${IMAP_PORT:-1144}
pop3_port=${POP3_PORT:-1111}
facteur=$inst/usr/sbin/facteur

[ -x "$facteur" ] && "$facteur" stop >/dev/null 2>&1 || true
rm -rf "$inst"
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
	(cd "$build" && "$top/configure" -q --prefix="$inst/usr" \
		--sysconfdir="$inst/etc" --localstatedir="$inst/var")
fi
make -C "$build" -j"$(nproc)" >/dev/null
make -C "$build" install prefix="$inst/usr" sysconfdir="$inst/etc" \
	localstatedir="$inst/var" >/dev/null

conf=$inst/etc/facteur
mail=$inst/mail
mkdir -p "$mail/example.test" "$inst/var/log"
if [ "$(id -u)" -eq 0 ]; then
	id facteur >/dev/null 2>&1 || useradd --system --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin facteur
	getent group facteur-drop >/dev/null || groupadd --system facteur-drop
	id vmail >/dev/null 2>&1 || useradd --system --user-group --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin vmail
	id facteur-auth >/dev/null 2>&1 || useradd --system --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin facteur-auth
	chown facteur "$inst/var/lib/facteur"
	ids="virtual_uid_maps = static:$(id -u vmail)
virtual_gid_maps = static:$(id -g vmail)"
else
	ids=""
fi
: >"$conf/vmailbox"
: >"$conf/users"
for i in 1 2 3 4 5; do
	for d in new cur tmp; do mkdir -p "$mail/example.test/user$i/$d"; done
	echo "user$i@example.test example.test/user$i/" >>"$conf/vmailbox"
	echo "user$i@example.test:{PLAIN}pass$i::::::" >>"$conf/users"
done
if [ "$(id -u)" -eq 0 ]; then
	chown -R vmail:vmail "$mail/example.test"
	chgrp facteur-auth "$conf/users"
	chmod 640 "$conf/users"
fi

cat >>"$conf/main.cf" <<CF

# bench/facteur_up.sh
inet_interfaces = 127.0.0.1
maillog_file = $inst/var/log/maillog
myhostname = mx.example.test
mydomain = example.test
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
virtual_mailbox_domains = example.test
virtual_mailbox_base = $mail
virtual_mailbox_maps = texthash:$conf/vmailbox
auth_passwd_file = $conf/users
auth_default_realm = example.test
smtpd_tls_security_level = none
$ids
CF

d=$inst/usr/libexec/facteur
{
	echo "127.0.0.1:$smtp_port inet n - n - - smtpd"
	echo "pickup unix n - n 60 1 pickup"
	echo "qmgr unix n - n 300 1 qmgr"
	echo "local unix - n n - - local"
	echo "auth unix - - n - - auth"
	echo "userdb unix - - n - - auth"
	[ -x "$d/smtp" ] && echo "smtp unix - - n - - smtp"
	[ -x "$d/anvil" ] && echo "anvil unix - - n - 1 anvil"
	if [ -x "$d/imap-login" ] && [ -x "$d/imapd" ]; then
		echo "127.0.0.1:$imap_port inet n - n - - imap-login -o imapd_disable_plaintext_auth=no"
		echo "imapd unix - n n - - imapd"
	fi
	if [ -x "$d/pop3-login" ] && [ -x "$d/pop3d" ]; then
		echo "127.0.0.1:$pop3_port inet n - n - - pop3-login -o pop3d_disable_plaintext_auth=no"
		echo "pop3d unix - n n - - pop3d"
	fi
} >"$conf/master.cf"

"$facteur" check
"$facteur" start
echo "facteur master pid: $(cat "$inst/var/lib/facteur/master.pid")"
