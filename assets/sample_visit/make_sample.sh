#!/usr/bin/env bash
# Regenerate visit.ogg from script.txt: a fictional primary-care visit (no real patient),
# synthesised with espeak-ng, one voice per speaker, joined with sox.
# Needs Debian packages espeak-ng and sox. Writes visit.ogg and reference.txt next to this script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

doctor_voice=(-v en-us -p 40 -s 160)
patient_voice=(-v en-gb+f3 -p 65 -s 150)

n=0
parts=()
: > "$work/reference.txt"
while IFS= read -r line; do
  [[ -z "$line" ]] && continue
  role="${line%%]*}"; role="${role#[}"
  text="${line#*] }"
  n=$((n + 1))
  case "$role" in
    doctor)  voice=("${doctor_voice[@]}") ;;
    patient) voice=("${patient_voice[@]}") ;;
    *) echo "unknown speaker in: $line" >&2; exit 1 ;;
  esac
  espeak-ng "${voice[@]}" -w "$work/raw$n.wav" "$text"
  # 16 kHz mono, then a pause after each turn (longer when the speaker changes).
  sox "$work/raw$n.wav" -r 16000 -c 1 -b 16 "$work/utt$n.wav" pad 0 0.7
  parts+=("$work/utt$n.wav")
  printf '%s ' "$text" >> "$work/reference.txt"
done < "$here/script.txt"

sox -n -r 16000 -c 1 -b 16 "$work/lead.wav" trim 0 0.5
sox "$work/lead.wav" "${parts[@]}" -C 3 "$here/visit.ogg"
sed 's/ $//' "$work/reference.txt" > "$here/reference.txt"
echo >> "$here/reference.txt"
soxi -D "$here/visit.ogg" | xargs printf 'visit.ogg: %.1f s\n'
