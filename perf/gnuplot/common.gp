# Shared look of every perfmatrix plot. The report passes: tdir (this
# directory), data, knees, front, out (path without extension), titles (one
# word per series), n (number of series) and plan.
set grid
set key outside right top noenhanced
set datafile missing 'NaN'
