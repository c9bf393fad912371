# Needs fork/exec: pipelines and command substitution.
echo "count: $(wc -l < words.txt)"
sort words.txt | uniq | head -n 3
