#!/bin/sh
# tls.sh DIR - make the throw-away certificates the TLS tests use, in DIR
# (created mode 0700).  Nothing here is ever committed: every run makes
# fresh keys with openssl req / x509 / ca.
#
#   ca.pem ca.key            a test CA (ECDSA P-256)
#   server.pem server.key    localhost, issued by the CA (SAN localhost,
#                            127.0.0.1), chain: leaf then CA
#   b.pem b.key              b.example, issued by the CA (for SNI)
#   client.pem client.key    a client certificate issued by the CA
#   other.key                a key that matches no certificate
#   misorder.pem             server.pem's chain in the wrong order
#   expired.pem expired.key  self-signed, valid in January 2020 only
set -e
dir=$1
[ -n "$dir" ] || { echo "usage: tls.sh DIR" >&2; exit 2; }
command -v openssl >/dev/null 2>&1 || { echo "tls.sh: no openssl" >&2; exit 77; }
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 077
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

openssl req -x509 $ec -keyout ca.key -out ca.pem -days 400 \
    -subj "/CN=asockd test CA" -addext basicConstraints=critical,CA:true \
    2>/dev/null

leaf() {	# name subject san
	openssl req $ec -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
	printf 'subjectAltName=%s\n' "$3" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -days 400 -extfile "$1.ext" -out "$1.crt" \
	    2>/dev/null
	rm -f "$1.csr" "$1.ext"
}
leaf server /CN=localhost "DNS:localhost,IP:127.0.0.1"
cat server.crt ca.pem > server.pem
cat ca.pem server.crt > misorder.pem
leaf b /CN=b.example "DNS:b.example"
mv b.crt b.pem
leaf client "/CN=test client" "DNS:client"
mv client.crt client.pem
rm -f server.crt
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out other.key 2>/dev/null

# expired: openssl ca is the one that takes explicit dates
mkdir -p ca.d
: > ca.d/index.txt
cat > ca.d/ca.cnf <<CNF
[ ca ]
default_ca = d
[ d ]
dir = ca.d
database = ca.d/index.txt
new_certs_dir = ca.d
serial = ca.d/serial
default_md = sha256
policy = p
[ p ]
commonName = supplied
CNF
echo 01 > ca.d/serial
openssl req $ec -keyout expired.key -out expired.csr -subj /CN=expired \
    2>/dev/null
openssl ca -batch -config ca.d/ca.cnf -selfsign -keyfile expired.key \
    -in expired.csr -startdate 20200101000000Z -enddate 20200201000000Z \
    -out expired.pem -notext 2>/dev/null
rm -rf ca.d expired.csr
chmod 600 *.key
chmod 644 *.pem
