# The VM's life, one line pair per run: the capture rate so far (uptime
# points present / seconds elapsed, left axis; 1 means no second lost) and
# the exits of each second (right axis). The report passes: tdir, data (one
# index block per run: second, capture so far, exits in that second), out
# (path without extension), titles (one word per run) and n.
load tdir.'/common.gp'
set title 'VM lifecycle: capture rate and exits per second over the VM''s life'
set xlabel 'Second of the VM''s life'
set ylabel 'Capture so far (points / seconds)'
set y2label 'vCPU exits per second'
set yrange [0:1.1]
set y2range [0:*]
set ytics nomirror
set y2tics
do for [fmt in 'png svg'] {
    if (fmt eq 'png') {
        set terminal pngcairo noenhanced size 1100,650 font ',11'
    } else {
        set terminal svg noenhanced size 1100,650 dynamic font ',11'
    }
    set output sprintf('%s.%s', out, fmt)
    plot for [i=0:n-1] data index i using 1:2 axes x1y1 with lines lw 2 lc i+1 title word(titles, i+1).' capture', \
         for [i=0:n-1] data index i using 1:3 axes x1y2 with linespoints lw 1 pt 7 ps 0.5 dt 2 lc i+1 title word(titles, i+1).' exits/s'
    set output
}
