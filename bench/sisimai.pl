#!/usr/bin/env perl
# sisimai.pl: the reference for internal/bounce. Reads bounce mails with
# Sisimai (Debian's libsisimai-perl, 4.25; scripts/setup-test-deps installs
# it) and prints one tab-separated line per bounced recipient:
#
#   file  recipient  reason  deliverystatus  replycode  smtpcommand
#
# file is the mail's base name, recipient is lower-cased, empty fields stay
# empty; tabs and line breaks inside a value become spaces. A mail from
# which Sisimai reads no recipient prints nothing.
#
# Usage: bench/sisimai.pl [--quiet] FILE|DIR...
#   A DIR is read as a folder of mail files (its plain files, sorted by name;
#   a Maildir's cur/ and new/ are read when present), not below.
#   --quiet parses everything the same way and prints only the number of
#   recipient lines (for timing: time perl bench/sisimai.pl --quiet DIR).
# Exit: 0 when every input could be read, 1 when one could not, 2 on bad usage.
use strict;
use warnings;
use File::Basename qw(basename);
use Sisimai;

my $quiet = 0;
my @args;
for my $a (@ARGV) {
    if ($a eq '--quiet' || $a eq '-q') { $quiet = 1; next }
    if ($a eq '--help'  || $a eq '-h') { usage(0) }
    if ($a =~ /\A-./)                  { warn "sisimai.pl: unknown option $a\n"; usage(2) }
    push @args, $a;
}
usage(2) unless @args;

sub usage {
    my $rc = shift;
    my $fh = $rc ? \*STDERR : \*STDOUT;
    print $fh "usage: bench/sisimai.pl [--quiet] FILE|DIR...\n";
    exit $rc;
}

# files: the mail files an argument names, in a stable order.
sub files {
    my $path = shift;
    return ($path) unless -d $path;
    my @dirs = grep { -d } map { "$path/$_" } qw(cur new);
    @dirs = ($path) unless @dirs;
    my @out;
    for my $d (@dirs) {
        opendir(my $dh, $d) or do { warn "sisimai.pl: $d: $!\n"; next };
        push @out, map { "$d/$_" } sort grep { !/\A\./ && -f "$d/$_" } readdir $dh;
        closedir $dh;
    }
    return @out;
}

sub clean {
    my $v = shift // '';
    $v = "$v";
    $v =~ s/[\t\r\n]+/ /g;
    return $v;
}

my ($rc, $count) = (0, 0);
binmode STDOUT;
for my $arg (@args) {
    unless (-e $arg) { warn "sisimai.pl: $arg: no such file or directory\n"; $rc = 1; next }
    for my $file (files($arg)) {
        unless (-r $file) { warn "sisimai.pl: $file: not readable\n"; $rc = 1; next }
        # delivered => 1: a DSN that also reports delivered recipients lists them too.
        my $list = Sisimai->make($file, 'delivered' => 1) // [];
        my $name = basename($file);
        for my $e (@$list) {
            $count++;
            next if $quiet;
            print join("\t",
                $name,
                lc clean($e->recipient ? $e->recipient->address : ''),
                clean($e->reason),
                clean($e->deliverystatus),
                clean($e->replycode),
                clean($e->smtpcommand)), "\n";
        }
    }
}
print "$count\n" if $quiet;
exit $rc;
