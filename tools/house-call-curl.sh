#!/usr/bin/env bash
# A customer made with curl books a plumber during `doorstep demo`; a demo provider drives over, arrives,
# checks in with the customer's code (the demo reads it from the record, standing in for you at the door)
# and checks out. Needs curl and jq; B= the demo's URL.
set -euo pipefail
B=${B:-http://127.0.0.1:8080}
J='content-type: application/json'
T=$(curl -sf $B/v1/auth/signup -H "$J" \
  -d "{\"email\":\"me-$RANDOM@example.com\",\"password\":\"a long password 1\",\"name\":\"Me\",\"role\":\"rider\"}" | jq -r .token)
A="authorization: Bearer $T"
curl -sf $B/v1/me/payment-methods -H "$A" -H "$J" -d '{"kind":"test_card","number":"4242 4242 4242 4242"}' >/dev/null
# The catalogue; the plumber visit, since the demo's emergency plumber works around the clock.
curl -sf $B/v1/house-calls/services -H "$A" | jq -r '.services[] | "  \(.name): \(.duration_min) min, \(.price.amount / 100) \(.price.currency)"'
S=$(curl -sf $B/v1/house-calls/services -H "$A" | jq -r '.services[] | select(.name == "Plumber visit") | .id')
# Free starts today and tomorrow (New York dates) at the Empire State Building; the first one.
D1=$(TZ=America/New_York date +%F) D2=$(TZ=America/New_York date -d tomorrow +%F)
AV=$(curl -sf "$B/v1/house-calls/availability?service_id=$S&lat=40.7484&lng=-73.9857&from=$D1&to=$D2" -H "$A")
echo "$AV" | jq -c '{service_name, price, slots: (.slots | length), first: .slots[0]}'
START=$(echo "$AV" | jq -r '.slots[0].start')
BK=$(curl -sf $B/v1/house-calls/bookings -H "$A" -H "$J" -H "idempotency-key: my-first-plumber-$RANDOM" \
  -d "{\"service_id\":\"$S\",\"location\":{\"lat\":40.7484,\"lng\":-73.9857},\"address\":\"20 W 34th St\",\"start\":\"$START\"}")
echo "$BK" | jq -c '{id, state, service_name, start, "end": .end, provider_id, provider_choice, checkin_code}'
ID=$(echo "$BK" | jq -r .id) P=$(echo "$BK" | jq -r .provider_id)
# The operator finds the provider (a demo account, providerN@demo.doorstep.dev, password doorstep-demo);
# signed in as them, their day includes the visit.
AT=$(curl -sf $B/v1/auth/login -H "$J" -d '{"email":"admin@demo.doorstep.dev","password":"doorstep-demo"}' | jq -r .token)
PV=$(curl -sf $B/v1/admin/providers -H "authorization: Bearer $AT" | jq --arg p "$P" '.providers[] | select(.user_id == $p)')
echo "$PV" | jq -c '{name, email, approval, bookable}'
PT=$(curl -sf $B/v1/auth/login -H "$J" -d "{\"email\":$(echo "$PV" | jq .email),\"password\":\"doorstep-demo\"}" | jq -r .token)
FROM=$(date -u -d '-6 hours' +%FT%TZ)
curl -sf "$B/v1/house-calls/bookings?from=$FROM&days=2" -H "authorization: Bearer $PT" \
  | jq -c --arg id "$ID" '{visits_that_day: (.bookings | length), this_one: [.bookings[] | select(.id == $id) | {start, state, address, checkin_code}]}'
# The visit, as the customer follows it: each new state, with the provider's position on the way.
L=
until V=$(curl -sf $B/v1/house-calls/bookings/$ID -H "$A"); S=$(echo "$V" | jq -r .state)
  [[ $S != "$L" ]] && echo "$(date +%T) $S $(echo "$V" | jq -c '.provider_position // empty | {lat, lng}')"; L=$S
  [[ $S =~ ^(completed|cancelled|missed)$ ]]; do sleep 5; done
curl -sf $B/v1/house-calls/bookings/$ID -H "authorization: Bearer $AT" | jq -c '{state, price, cancel_fee}'
# The booking's postings (the operator's read): the customer pays the price, the provider earns 80 %, the
# platform keeps 20 %; every posting sums to zero.
curl -sf $B/v1/admin/house-calls/bookings/$ID/ledger -H "authorization: Bearer $AT" \
  | jq -c '{postings: [.postings[] | {kind, entries: [.entries[] | {account, amount: .amount.amount}], sum: ([.entries[].amount.amount] | add)}]}'
