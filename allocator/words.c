/* Word lists for session names.  Adjectives at most 9 letters and surnames at
 * most 12, so "adj-adj-surname" fits in 32 bytes (tests/unit/test-names.c
 * checks every word).  Surnames are of scientists, engineers and writers. */
#include "allocator/names.h"

#include "common/util.h"

const char *const name_adjectives[] = {
    "able",    "agile",	  "amazing",  "ample",	  "awake",    "bold",	  "brave",   "bright",
    "brisk",   "calm",	  "candid",   "careful",  "cheerful", "clever",	  "cosmic",  "crisp",
    "curious", "daring",  "dazzling", "deft",	  "devoted",  "eager",	  "earnest", "elated",
    "epic",    "exact",	  "fair",     "festive",  "fearless", "fond",	  "frank",   "friendly",
    "gallant", "gentle",  "gifted",   "glad",	  "golden",   "gracious", "happy",   "hardy",
    "helpful", "honest",  "hopeful",  "humble",	  "jolly",    "jovial",	  "keen",    "kind",
    "lively",  "loving",  "loyal",    "lucid",	  "lucky",    "merry",	  "mellow",  "modest",
    "nifty",   "noble",	  "patient",  "peaceful", "plucky",   "polite",	  "proud",   "quick",
    "quiet",   "radiant", "rapid",    "ready",	  "relaxed",  "robust",	  "serene",  "sharp",
    "shiny",   "sincere", "smart",    "snappy",	  "solid",    "spirited", "stoic",   "sturdy",
    "sunny",   "swift",	  "tender",   "thorough", "tidy",     "tranquil", "trusty",  "upbeat",
    "valiant", "vibrant", "vigilant", "vivid",	  "warm",     "wise",	  "witty",   "zealous",
    "zesty",
};
const size_t name_n_adjectives = ELEMENTSOF(name_adjectives);

const char *const name_surnames[] = {
    "agnesi",	  "archimedes", "babbage",    "banach",	  "bardeen",	 "bell",       "bohr",
    "boole",	  "borg",	"bose",	      "brahe",	  "cantor",	 "carson",     "cerf",
    "chandra",	  "curie",	"darwin",     "dijkstra", "dirac",	 "easley",     "edison",
    "einstein",	  "euclid",	"euler",      "faraday",  "fermat",	 "fermi",      "feynman",
    "franklin",	  "galileo",	"gauss",      "germain",  "goodall",	 "hamilton",   "hawking",
    "heisenberg", "hertz",	"hilbert",    "hodgkin",  "hopper",	 "hubble",     "hypatia",
    "jackson",	  "johnson",	"joule",      "kepler",	  "knuth",	 "kowalevski", "lamarr",
    "lamport",	  "laplace",	"leakey",     "leavitt",  "lovelace",	 "maxwell",    "mayer",
    "meitner",	  "mendel",	"mirzakhani", "morse",	  "napier",	 "newton",     "nobel",
    "noether",	  "ohm",	"pascal",     "pasteur",  "pauli",	 "payne",      "planck",
    "poincare",	  "ptolemy",	"ramanujan",  "ritchie",  "rosalind",	 "rubin",      "sagan",
    "shannon",	  "shockley",	"sinoussi",   "stallman", "stonebraker", "swanson",    "tesla",
    "thompson",	  "torvalds",	"turing",     "volta",	  "wescoff",	 "wiles",      "williams",
    "wilson",	  "wozniak",	"wright",     "yalow",	  "yonath",
};
const size_t name_n_surnames = ELEMENTSOF(name_surnames);
