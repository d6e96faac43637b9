#!/usr/bin/env bash
# A customer made with curl orders dinner during `doorstep demo`; a demo kitchen and a demo courier do the rest.
set -euo pipefail
B=${B:-http://127.0.0.1:8080}
J='content-type: application/json'
T=$(curl -sf $B/v1/auth/signup -H "$J" \
  -d "{\"email\":\"me-$RANDOM@example.com\",\"password\":\"a long password 1\",\"name\":\"Me\",\"role\":\"rider\"}" | jq -r .token)
A="authorization: Bearer $T"
curl -sf $B/v1/me/payment-methods -H "$A" -H "$J" -d '{"kind":"test_card","number":"4242 4242 4242 4242"}' >/dev/null
# An open restaurant that delivers to the Empire State Building, and an item needing no option.
P='"lat":40.7484,"lng":-73.9857'
M=$(curl -sf "$B/v1/merchants?lat=40.7484&lng=-73.9857" -H "$A" | jq -r '[.merchants[] | select(.open_now and (.paused | not))][0].merchant_id')
I=$(curl -sf $B/v1/merchants/$M/menu -H "$A" \
  | jq -r '[.categories[].items[] | select(.available_now and all(.option_groups[]; .min == 0))][0].item_id')
O=$(curl -sf $B/v1/orders -H "$A" -H "$J" -H "idempotency-key: my-first-dinner-$RANDOM" \
  -d "{\"merchant_id\":\"$M\",\"dropoff\":{$P},\"address\":\"20 W 34th St\",\"lines\":[{\"item_id\":\"$I\",\"quantity\":2}],\"tip\":300}" | jq -r .id)
echo "order $O"
until S=$(curl -sf $B/v1/orders/$O -H "$A" | jq -r .state); echo "$(date +%T) $S"; [[ $S =~ ^(delivered|rejected|cancelled|undeliverable)$ ]]; do sleep 10; done
# The operator reads the order's books: the sum of its postings is zero.
AT=$(curl -sf $B/v1/auth/login -H "$J" -d '{"email":"admin@demo.doorstep.dev","password":"doorstep-demo"}' | jq -r .token)
curl -sf $B/v1/admin/orders/$O/ledger -H "authorization: Bearer $AT" | jq '{total, postings: [.postings[].kind]}'
