# VM scale: per monitored VM, against the number of VMs, one line per stack
# (rondo-vmm with its store, without it, node-exporter + Prometheus). The
# report passes: tdir, data (one index block per stack: N, peak RSS kB per VM,
# CPU s per VM-second, capture), out (path without extension), titles (one
# word per stack), n and capture (the block of rondo-vmm with its store, or -1).
load tdir.'/common.gp'
set xlabel 'VMs at once (N)'
set logscale x 2
do for [fmt in 'png svg'] {
    if (fmt eq 'png') {
        set terminal pngcairo noenhanced size 1100,1200 font ',11'
    } else {
        set terminal svg noenhanced size 1100,1200 dynamic font ',11'
    }
    set output sprintf('%s.%s', out, fmt)
    set multiplot layout 3,1 title 'VM scale: cost per monitored VM against N'
    set ylabel 'Peak RSS per VM (kB)'
    plot for [i=0:n-1] data index i using 1:2 with linespoints lw 2 pt 7 title word(titles, i+1)
    set ylabel 'CPU s per VM-second'
    plot for [i=0:n-1] data index i using 1:3 with linespoints lw 2 pt 7 title word(titles, i+1)
    set ylabel 'Capture (uptime points / seconds)'
    set yrange [0:1.1]
    # Only the store records capture: block `capture` is rondo-vmm with it,
    # -1 when the sweep has no such point.
    if (capture >= 0) {
        plot data index capture using 1:4 with linespoints lw 2 pt 7 title word(titles, capture + 1)
    } else {
        set label 1 'no rondo-vmm point with a store' at graph 0.5, 0.5 center
        plot [1:2] NaN notitle
        unset label 1
    }
    set autoscale y
    unset multiplot
    set output
}
