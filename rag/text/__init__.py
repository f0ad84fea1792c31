"""Text, the bottom layer: offset maps (cleaned text that remembers its original spans),
normalising and tokenizing, names and numbers, sentence spans and tables. Imports nothing else
of rag's but its records (rag.types)."""
