"""VCF reading and variant windows (basset.vcf), SAD scoring (basset.sad, basset.stages.variants), PICS tables,
allele selection and enrichment (basset.pics), and the stage functions of the variants rules."""

import gzip
import http.server
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import loopback_server, run_script
from torch import nn

import basset.vcf
from basset.cli import main as cli_main
from basset.download import DownloadError
from basset.errors import InputError
from basset.models import build_model, load_model, save_model
from basset.pics import enrichment, join_pics, read_pics, select_vcf_records
from basset.sad import sad_target_columns
from basset.sequence import Genome, decode, encode, one_hot, reverse_complement
from basset.stages.variants import read_sad, score_variants
from basset.vcf import iter_vcf, read_vcf, variant_sequences

MOTIF = "GATTACA"
L = 21  # window of the motif model
TARGETS = ["up", "down", "flat"]
FARH_EXCERPT = Path("/work/shared/reference/pics_farh2015_excerpt.tsv")


class MotifModel(nn.Module):
    """Logit of target ``up`` rises with the best match to GATTACA (either strand) anywhere in the window;
    ``down`` is its negative and ``flat`` is constant. Strand-symmetric, so rc averaging changes nothing."""

    def __init__(self):
        super().__init__()
        fwd = one_hot(encode(MOTIF)[None])[0]
        rev = one_hot(reverse_complement(encode(MOTIF))[None])[0]
        self.conv = nn.Conv1d(4, 2, len(MOTIF), bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(np.stack([fwd, rev])))

    def forward(self, x):
        z = 2.0 * (self.conv(x).amax(dim=(1, 2)) - (len(MOTIF) - 0.5))
        return torch.stack([z, -z, torch.zeros_like(z)], dim=1)


def _genome(tmp_path) -> Path:
    """chr1 (100 bp of C): GATTACA at 0-based 40-46, the near-motif GATTCCA at 70-76. chr2: 30 bp of ACGT."""
    seq = np.array(list("C" * 100))
    seq[40:47] = list(MOTIF)
    seq[70:77] = list("GATTCCA")
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\n" + "".join(seq[:60]) + "\n" + "".join(seq[60:]) + "\n>chr2\n" + "ACGT" * 7 + "AC\n")
    return fa


HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=100>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
RECORDS = [
    ("chr1", 44, "destroy", "T", "C"),     # 0-based 43 is the second T of GATTACA
    ("chr1", 75, "create", "C", "A"),      # GATTCCA -> GATTACA
    ("chr1", 75, "swapped", "A", "C"),     # genome shows the ALT: scored as C -> A
    ("chr1", 44, "mismatch", "G", "C"),    # genome shows T: neither allele
    ("chrUn", 5, "unknown", "A", "C"),
    ("chr1", 44, "multi", "T", "C,G"),
    ("chr1", 2, "edge", "C", "G"),         # window runs off the start: N padding
    ("chr1", 44, "deletion", "TA", "T"),   # GATTACA -> GATTCA
    ("chr1", 30, "symbolic", "C", "<DEL>"),
    ("chr1", 150, "outside", "C", "G"),
]


def _vcf_text(records=RECORDS, header=HEADER) -> str:
    return header + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for c, p, i, r, a in records)


def _write_vcf(path: Path, text: str, gz: bool = False) -> Path:
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture()
def scored(tmp_path):
    fa = _genome(tmp_path)
    vcf = _write_vcf(tmp_path / "v.vcf", _vcf_text())
    out = tmp_path / "sad.tsv"
    summary = score_variants(MotifModel(), fa, vcf, out, TARGETS, seq_len=L, batch_size=4)
    return summary, read_sad(out), tmp_path


# ------------------------------------------------------------------------------------------ VCF
def test_iter_vcf_splits_multiallelic_skips_symbolic_and_numbers_lines(tmp_path):
    counts = {}
    df = read_vcf(_write_vcf(tmp_path / "v.vcf", _vcf_text()), counts=counts)
    assert list(df.columns) == ["chrom", "pos", "id", "ref", "alt", "line"]
    multi = df[df["id"] == "multi"]
    assert multi["alt"].tolist() == ["C", "G"] and multi["line"].tolist() == [9, 9]  # 3 header lines
    assert "symbolic" not in set(df["id"])
    assert df["line"].iloc[0] == 4 and df["pos"].dtype == np.int64
    assert counts == {"variants_read": 10, "multiallelic_records": 1, "multiallelic_extra_rows": 1,
                      "symbolic_skipped": 1}


def test_iter_vcf_headerless_gzip_by_magic_and_small_chunks(tmp_path):
    text = _vcf_text(header="")
    plain = read_vcf(_write_vcf(tmp_path / "a.vcf", text))
    gz = read_vcf(_write_vcf(tmp_path / "b.txt", text, gz=True))  # gzip without a .gz suffix
    pd.testing.assert_frame_equal(plain, gz)
    assert plain["line"].iloc[0] == 1
    chunks = list(iter_vcf(tmp_path / "a.vcf", chunk_size=3))
    assert len(chunks) == 4
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), plain)


def test_iter_vcf_crlf_blank_lines_and_lower_case(tmp_path):
    text = "chr1\t44\tx\tt\tc\r\n\r\nchr1\t75\ty\tC\ta\r\n"
    df = read_vcf(_write_vcf(tmp_path / "v.vcf", text))
    assert df[["ref", "alt"]].values.tolist() == [["T", "C"], ["C", "A"]]
    assert df["line"].tolist() == [1, 3]


@pytest.mark.parametrize(
    "bad, line, message",
    [
        ("chr1\tabc\tx\tA\tC", 5, "integer POS"),
        ("chr1\t0\tx\tA\tC", 5, ">= 1"),
        ("chr1\t-3\tx\tA\tC", 5, ">= 1"),
        ("chr1\t10\tx\tA", 5, "at least 5"),
        ("chr1\t10\tx\t\tC", 5, "empty CHROM, REF or ALT"),
        ("chr1\t10\tx\tR\tC", 5, "REF allele"),
        ("chr1\t10\tx\tA\tC,Z", 5, "ALT alleles"),
    ],
)
def test_vcf_errors_name_file_and_line(tmp_path, bad, line, message):
    text = _vcf_text(RECORDS[:1]) + bad + "\t.\n" * (bad.count("\t") >= 4) + "\n" * (bad.count("\t") < 4)
    text += "chr1\t44\tlater\tT\tC\n"
    vcf = _write_vcf(tmp_path / "bad.vcf", text)
    with pytest.raises(InputError, match=message) as err:
        read_vcf(vcf)
    assert err.value.line == line and err.value.path == str(vcf)
    assert f"bad.vcf:{line}:" in str(err.value)


def test_vcf_short_first_line_is_an_input_error(tmp_path):
    vcf = _write_vcf(tmp_path / "bad.vcf.gz", "#CHROM\tPOS\nchr1\t10\tx\nchr1\t44\ty\tT\tC\n", gz=True)
    with pytest.raises(InputError, match="at least 5 tab-separated columns.*got 3") as err:
        read_vcf(vcf)
    assert err.value.line == 2


# ------------------------------------------------------------------------------------------ windows
def test_variant_sequences_centre_swap_indels_and_padding(tmp_path):
    fa = tmp_path / "g.fa"
    fa.write_text(">c\n" + "AACCGGTTAC" * 3 + "\n")  # 30 bp
    df = pd.DataFrame({"chrom": ["c", "c", "c", "c", "c", "c", "x"], "pos": [11, 11, 11, 11, 2, 11, 1],
                       "ref": ["A", "G", "AA", "A", "A", "T", "A"], "alt": ["G", "A", "A", "ATT", "C", "G", "C"]})
    with Genome(fa) as g:
        vs = variant_sequences(g, df, 9)
    assert vs.status.tolist() == ["ok", "swapped", "ok", "ok", "ok", "ref_mismatch", "unknown_chrom"]
    assert vs.kept.tolist() == [True] * 5 + [False, False]
    ref = [decode(r) for r in vs.ref]
    alt = [decode(a) for a in vs.alt]
    # 0-based 10 is the A of "AACC...", at index 9 // 2 = 4 of each window
    assert ref[0] == "TTACAACCG" and alt[0] == "TTACGACCG"
    assert vs.swapped.tolist()[:2] == [False, True]
    assert (vs.ref_allele[1], vs.alt_allele[1]) == ("A", "G")  # scored as the genome's allele -> VCF REF
    assert ref[1] == ref[0] and alt[1] == "TTACGACCG"
    assert ref[2] == ref[0] and alt[2] == "TTACACCGG"  # deletion of the second A: the right flank moves left
    assert alt[3] == "TTACATTAC"  # insertion of TT after the A: the right flank moves right
    assert ref[4] == "NNNAACCGG" and alt[4] == "NNNACCCGG" and vs.off_end.tolist()[4]
    assert vs.indel.tolist()[2:4] == [True, True]


# ------------------------------------------------------------------------------------------ SAD
def test_sad_signs_swap_and_counts(scored):
    summary, sad, _ = scored
    assert summary["variants_read"] == 10
    assert summary["scored"] == 7  # destroy, create, swapped, multi x2, edge, deletion
    assert summary["swapped"] == 1
    assert summary["ref_mismatch_skipped"] == 1
    assert summary["unknown_chrom_skipped"] == 1 and summary["unknown_chroms"] == "chrUn"
    assert summary["outside_chrom_skipped"] == 1
    assert summary["symbolic_skipped"] == 1 and summary["multiallelic_records"] == 1
    assert summary["indels_scored"] == 1 and summary["off_end_padded"] == 1
    assert list(sad.columns[:9]) == ["chrom", "pos", "id", "ref", "alt", "swapped", "mean_sad", "max_abs_sad",
                                     "top_target"]
    assert sad.attrs["target_names"] == TARGETS
    by = sad.set_index(["id", "alt"])
    assert by.loc[("destroy", "C"), "up"] < -0.1 and by.loc[("destroy", "C"), "down"] > 0.1
    assert by.loc[("create", "A"), "up"] > 0.1
    assert by.loc[("deletion", "T"), "up"] < -0.1
    assert (by.loc[("multi", "C"), "up"] < -0.1) and (by.loc[("multi", "G"), "up"] < -0.1)
    assert by.loc[("destroy", "C"), "flat"] == 0 and abs(by.loc[("edge", "G"), "up"]) < 0.01
    # the swapped record is scored from the genome's allele: same pair of sequences as 'create'
    sw = sad[sad["id"] == "swapped"].iloc[0]
    assert bool(sw["swapped"]) and (sw["ref"], sw["alt"]) == ("C", "A")
    assert sw["up"] == by.loc[("create", "A"), "up"] > 0  # VCF orientation (A -> C) would be negative
    assert not sad.loc[sad["id"] != "swapped", "swapped"].any()
    assert by.loc[("destroy", "C"), "top_target"] in ("up", "down")
    assert by.loc[("destroy", "C"), "max_abs_sad"] == pytest.approx(abs(by.loc[("destroy", "C"), "up"]), rel=1e-5)


def test_sad_streaming_gzip_and_weights_give_the_same_table(scored):
    _, ref_table, tmp_path = scored
    fa = tmp_path / "g.fa"
    vcf_gz = _write_vcf(tmp_path / "v.vcf.gz", _vcf_text(), gz=True)
    out = tmp_path / "sad_small_chunks.tsv.gz"
    score_variants(MotifModel(), fa, vcf_gz, out, TARGETS, seq_len=L, chunk_size=3, rc_average=False,
                   weights={"up": 2.0})
    with gzip.open(out, "rt") as fh:
        header = fh.readline().rstrip("\n").split("\t")
    assert header == ["chrom", "pos", "id", "ref", "alt", "swapped", "mean_sad", "max_abs_sad", "top_target",
                      "weighted", *TARGETS]
    small = read_sad(out)
    np.testing.assert_allclose(small["weighted"], 2 * small["up"].abs(), rtol=1e-5)
    pd.testing.assert_frame_equal(small.drop(columns="weighted"), ref_table, check_like=False)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_score_variants_leaves_nothing_on_error(tmp_path):
    fa = _genome(tmp_path)
    vcf = _write_vcf(tmp_path / "v.vcf", _vcf_text() + "chr1\tbad\tx\tA\tC\n")
    out = tmp_path / "sad.tsv"
    with pytest.raises(InputError, match="v.vcf:14:"):
        score_variants(MotifModel(), fa, vcf, out, TARGETS, seq_len=L, chunk_size=2)
    assert not out.exists() and not any(p.name.startswith((".tmp-", ".stage-")) for p in tmp_path.iterdir())
    with pytest.raises(ValueError, match="targets"):
        score_variants(MotifModel(), fa, _write_vcf(tmp_path / "ok.vcf", _vcf_text()), out, ["a", "b"], seq_len=L)
    with pytest.raises(ValueError, match="weights"):
        score_variants(MotifModel(), fa, tmp_path / "ok.vcf", out, TARGETS, seq_len=L, weights={"nope": 1})


def test_score_variants_with_a_basset_net_takes_seq_len_from_its_config(tmp_path):
    torch.manual_seed(0)
    cfg = {"seq_len": 24, "conv_filters": [4], "conv_widths": [5], "conv_pools": [4], "conv_dropout": [0.0],
           "dense_units": [8], "dense_dropout": [0.0]}
    model = build_model(cfg, 2)
    out = tmp_path / "sad.tsv"
    summary = score_variants(model, _genome(tmp_path), _write_vcf(tmp_path / "v.vcf", _vcf_text()), out,
                             ["a", "b"])
    assert summary["seq_len"] == 24 and summary["scored"] == 7
    sad = read_sad(out)
    assert np.isfinite(sad[["a", "b"]].to_numpy()).all() and len(sad) == 7


def test_score_variants_empty_vcf_writes_a_header(tmp_path):
    out = tmp_path / "sad.tsv"
    summary = score_variants(MotifModel(), _genome(tmp_path), _write_vcf(tmp_path / "v.vcf", HEADER), out,
                             TARGETS, seq_len=L)
    assert summary["scored"] == 0 and summary["variants_read"] == 0
    assert len(read_sad(out)) == 0


# ------------------------------------------------------------------------------------------ PICS
FARH_HEADER = ("Disease\tIndexSNP_riskAllele\tSNP\tchr\tpos\tPICS_probability\tAnnotation\tnearestGene\teQTL"
               "\teQTLdirection\ttopEnhancer\tGM12878\tK562\n")


def test_read_pics_farh_layout_keeps_max_per_snp(tmp_path):
    rows = [
        "Asthma\trs4129267-T\trs4129267\tchr1\t154426264\t0.1324\tnone\tIL6R\tnone\tNA\tadult_CD14\t1\t0",
        "Asthma\trs4129267-T\trs2228145\tchr1\t154426970\t0.0923\tmissense\tIL6R\tnone\tNA\tnone\t0\t0",
        "Crohns_disease\trs4129267-T\trs2228145\tchr1\t154426970\t0.6100\tmissense\tIL6R\tnone\tNA\tnone\t0\t0",
    ]
    p = tmp_path / "pics.txt"
    p.write_text(FARH_HEADER + "\n".join(rows) + "\n")
    df = read_pics(p)
    assert list(df.columns) == ["snp", "chrom", "pos", "pics", "disease", "n_diseases"]
    assert df["snp"].tolist() == ["rs4129267", "rs2228145"]
    row = df.set_index("snp").loc["rs2228145"]
    assert row["pics"] == 0.61 and row["disease"] == "Crohns_disease" and row["n_diseases"] == 2
    assert df["pos"].dtype == np.int64


@pytest.mark.skipif(not FARH_EXCERPT.exists(), reason="shared reference excerpt not available")
def test_read_pics_farh_excerpt():
    df = read_pics(FARH_EXCERPT)
    assert len(df) == 29 and df["pics"].between(0, 1).all() and df["chrom"].str.startswith("chr").all()


def test_read_pics_simulated_layout_and_errors(tmp_path):
    p = tmp_path / "pics.tsv"
    p.write_text("Disease\tIndexSNP_riskAllele\tSNP\tchr\tpos\tPICS_probability\n"
                 "Sim_trait\tsnp2-A\tsnp1\tchr1\t29370\t0.0296\nSim_trait\tsnp2-A\tsnp2\tchr1\t29628\t0.6181\n")
    df = read_pics(p)
    assert df["pos"].tolist() == [29370, 29628] and df["pics"].tolist() == [0.0296, 0.6181]
    bad = tmp_path / "nocols.tsv"
    bad.write_text("SNP\tchrom\tposition\tPICS\nrs1\tchr1\t5\t0.1\n")
    with pytest.raises(InputError, match="missing column.*chr, pos, PICS_probability.*expected"):
        read_pics(bad)
    badpos = tmp_path / "badpos.tsv"
    badpos.write_text("SNP\tchr\tpos\tPICS_probability\nrs1\tchr1\t5\t0.1\nrs2\tchr1\tfive\t0.2\n")
    with pytest.raises(InputError, match="badpos.tsv:3: expected a 1-based integer pos"):
        read_pics(badpos)


def test_read_pics_excel_without_reader_says_convert(tmp_path):
    try:
        import openpyxl  # noqa: F401
        pytest.skip("openpyxl is installed")
    except ImportError:
        pass
    x = tmp_path / "pics.xlsx"
    x.write_bytes(b"PK\x03\x04not really a workbook")
    with pytest.raises(InputError, match="tab-separated text"):
        read_pics(x)


#: the columns of Farh et al. 2015 table S1, as in /work/shared/reference/pics_farh2015_excerpt.tsv
FARH_COLUMNS = (
    "Disease IndexSNP_riskAllele SNP chr pos PICS_probability Annotation nearestGene eQTL eQTLdirection "
    "topEnhancer inferior_temporal_lobe angular_gyrus mid_frontal_lobe cingulate_gyrus substantia_nigra "
    "anterior_caudate hippocampus_middle CD25-_CD45RA+_naive CD25-_CD45RO+_mem CD25+_CD127-_Treg "
    "CD25-_IL17-_Th_stim_MACS CD25-_IL17+_Th17_stim Th0 Th1 Th2 CD45RA_CD8 CD45RO_CD8 adult_CD14 adult_CD20 "
    "GM12878 B_Cell_Centroblast Mobilized_CD34 K562 colonic_mucosa Duodenum_mucosa AdiposeNuclei HepG2 Liver1 "
    "Pancreatic_Islets kidney HSMM-myotube NH-Osteoblast chondrogenic_dif_cells"
).split()
#: (Disease, IndexSNP_riskAllele, SNP, chr, pos, PICS_probability): numbers written as Excel numbers
FARH_ROWS = [
    ("Asthma", "rs4129267-T", "rs4129267", "chr1", 154426264, 0.1324),
    ("Asthma", "rs4129267-T", "rs2228145", "chr1", 154426970, 0.0923),
    ("Crohns_disease", "rs4129267-T", "rs2228145", "chr1", 154426970, 0.61),
    ("Asthma", "rs3771180", "rs3771180", "chr2", 102953617, 0.1339),
]


def write_xls(path: Path, rows, title: str | None = "Supplementary Table 1: PICS fine-mapping") -> Path:
    """An Excel 97-2003 workbook like the published one: an optional title row and a blank row above the
    header, then one row per SNP; the annotation columns hold text ("NA"), the cell-type flags numbers."""
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Table S1")
    top = 0
    if title is not None:
        sheet.write(0, 0, title)
        top = 2  # row 2 (0-based 1) stays blank
    for j, name in enumerate(FARH_COLUMNS):
        sheet.write(top, j, name)
    for i, row in enumerate(rows, top + 1):
        for j, value in enumerate(row):
            sheet.write(i, j, value)
        for j, value in enumerate(["none", "IL6R", "none", "NA", "adult_CD14"], len(row)):
            sheet.write(i, j, value)
        for j in range(11, len(FARH_COLUMNS)):
            sheet.write(i, j, (i + j) % 2)
    book.save(str(path))
    return path


def test_read_pics_xls_as_published(tmp_path):
    """Reproduction: the published Farh et al. table S1 is an Excel .xls; read_pics took the first row as the
    header (a title row above the header gave 'missing column(s)'), and it needs xlrd. Now the OLE2 magic
    bytes select xlrd, the header row is found below the title, and the values are those written."""
    path = write_xls(tmp_path / "pics_farh2015.xls", FARH_ROWS)
    assert path.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    df = read_pics(path)
    assert list(df.columns) == ["snp", "chrom", "pos", "pics", "disease", "n_diseases"]
    assert df["snp"].tolist() == ["rs4129267", "rs2228145", "rs3771180"]
    assert df["chrom"].tolist() == ["chr1", "chr1", "chr2"]
    assert df["pos"].tolist() == [154426264, 154426970, 102953617] and df["pos"].dtype == np.int64
    assert df["pics"].tolist() == [0.1324, 0.61, 0.1339]
    assert df["disease"].tolist() == ["Asthma", "Crohns_disease", "Asthma"]
    assert df["n_diseases"].tolist() == [1, 2, 1]
    # by content: the same workbook under a text name is still a workbook, and one without a title reads alike
    renamed = tmp_path / "pics.tsv"
    renamed.write_bytes(path.read_bytes())
    pd.testing.assert_frame_equal(read_pics(renamed), df)
    pd.testing.assert_frame_equal(read_pics(write_xls(tmp_path / "plain.xls", FARH_ROWS, title=None)), df)


def test_read_pics_xls_errors_name_the_spreadsheet_row(tmp_path):
    """Reproduction: an error in a workbook named line ``index + 2`` whatever the rows above the header; it
    now names the spreadsheet row (title in row 1, blank row 2, header row 3, so the 2nd SNP is row 5)."""
    rows = [FARH_ROWS[0], ("Asthma", "rs1-T", "rs1", "chr1", "154.4 Mb", 0.1)]
    with pytest.raises(InputError, match=r"bad\.xls:5: expected a 1-based integer pos, got '154\.4 Mb'"):
        read_pics(write_xls(tmp_path / "bad.xls", rows))
    garbage = tmp_path / "broken.xls"
    garbage.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(InputError, match=r"broken\.xls: not a readable Excel 97-2003 workbook .*tab-separated"):
        read_pics(garbage)


@pytest.mark.parametrize("gz", [False, True])
def test_read_pics_text_named_xls_is_read_as_text(tmp_path, gz):
    """Reproduction: a tab-separated table named ``.xls`` was handed to xlrd by its suffix and failed; the
    format is now decided by content (and a gzipped table is gunzipped)."""
    text = FARH_HEADER + "Asthma\trs4129267-T\trs4129267\tchr1\t154426264\t0.1324\tnone\tIL6R\tnone\tNA\tnone\t1\t0\n"
    path = tmp_path / "pics.xls"
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    df = read_pics(path)
    assert df[["snp", "chrom", "pos", "pics"]].values.tolist() == [["rs4129267", "chr1", 154426264, 0.1324]]


# ------------------------------------------------------------------------------------------ allele source
SITES_HEADER = ["##fileformat=VCFv4.1", "##source=dbSNP-like test sites",
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
SITES_RECORDS = [
    "1\t154426264\trs4129267\tC\tT\t.\t.\tRS=4129267",  # kept: ID
    "1\t154426300\trs999\tA\tG\t.\t.\tRS=999",  # no PICS SNP
    "1\t154426970\t.\tA\tC\t.\t.\t.",  # kept: position of rs2228145 (chr1 in PICS, 1 here)
    "2\t102953617\trs3771180;rs42\tG\tT,C\t.\t.\t.",  # kept: one of two IDs; multi-allelic kept whole
    "X\t100\trs5\tA\tC\t.\t.\t.",  # no PICS SNP
    "MT\t73\trs3087742\tA\tG\t.\t.\t.",  # kept: position of the PICS SNP on chrM
]
KEPT = [0, 2, 3, 5]
SITES_TEXT = ("\n".join(SITES_HEADER + SITES_RECORDS) + "\n").encode()
SITE_SNPS = pd.DataFrame({
    "snp": ["rs4129267", "rs2228145", "rs3771180", "rsMito", "rsAbsent"],
    "chrom": ["chr1", "chr1", "chr2", "chrM", "chr3"],
    "pos": [154426264, 154426970, 102953617, 73, 5],
})
EXPECTED_COUNTS = {"header_lines": 3, "records_read": 6, "records_kept": 4, "pics_snps": 5, "pics_found": 4,
                   "pics_found_by_id": 2, "pics_found_by_position_only": 2, "pics_not_found": 1,
                   "chrom_names_mapped": True}


def bgzip_like(data: bytes, member: int = 37) -> bytes:
    """Concatenated gzip members of ``member`` bytes each (cut mid-line, as bgzip cuts at 64 KiB), then the
    empty member bgzip ends with."""
    return b"".join(gzip.compress(data[i : i + member]) for i in range(0, len(data), member)) + gzip.compress(b"")


class FileHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files[path]``; ``/short.vcf.gz`` announces 1000 bytes more than it sends."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = self.server.files.get(self.path.removesuffix("?short"))
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + (1000 if self.path.endswith("?short") else 0)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def vcf_server():
    files = {"/sites.vcf.gz": gzip.compress(SITES_TEXT), "/sites.bgz": bgzip_like(SITES_TEXT), "/sites.vcf": SITES_TEXT}
    with loopback_server(FileHandler, files=files) as httpd:
        yield httpd


def kept_lines(path: Path) -> list[str]:
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    return gzip.decompress(path.read_bytes()).decode().splitlines()


@pytest.mark.parametrize("name", ["/sites.vcf.gz", "/sites.bgz", "/sites.vcf"])
def test_select_vcf_records_streams_gzip_bgzip_and_plain_over_http(vcf_server, tmp_path, monkeypatch, name):
    """Reproduction: the PICS table has no alleles and nothing selected them from a sites VCF. Now the
    records of the PICS SNPs (by rsID, or by position with chr1/1 and chrM/MT mapped) are streamed out of a
    gzipped, bgzipped (many members, cut mid-line) or plain VCF served over HTTP, read in 50-byte blocks so
    that gzip members and lines straddle blocks."""
    monkeypatch.setattr(basset.vcf, "STREAM_CHUNK", 50)
    out = tmp_path / "pics_snps.vcf.gz"
    summary = select_vcf_records(vcf_server.url + name, out, SITE_SNPS)
    assert kept_lines(out) == SITES_HEADER + [SITES_RECORDS[i] for i in KEPT]
    assert summary == {"source": vcf_server.url + name, "bytes_read": len(vcf_server.files[name]),
                       **EXPECTED_COUNTS}
    vcf = read_vcf(out)  # the selection is a VCF that score_variants reads
    assert vcf["id"].tolist() == ["rs4129267", ".", "rs3771180;rs42", "rs3771180;rs42", "rs3087742"]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_select_vcf_records_local_file_and_read_pics_table(tmp_path):
    """The same from a local bgzipped file named ``.vcf`` (compression by content) and a PICS table file."""
    source = tmp_path / "sites.vcf"
    source.write_bytes(bgzip_like(SITES_TEXT, member=11))
    pics = tmp_path / "pics.tsv"
    pics.write_text("SNP\tchr\tpos\tPICS_probability\n"
                    + "".join(f"{s}\t{c}\t{p}\t0.5\n" for s, c, p in SITE_SNPS.itertuples(index=False)))
    out = tmp_path / "out" / "pics_snps.vcf.gz"
    summary = select_vcf_records(source, out, read_pics(pics))
    assert kept_lines(out) == SITES_HEADER + [SITES_RECORDS[i] for i in KEPT]
    assert {k: summary[k] for k in EXPECTED_COUNTS} == EXPECTED_COUNTS


def test_select_vcf_records_fails_cleanly(vcf_server, tmp_path):
    """A body shorter than its Content-Length, a gzip cut short, a record with too few columns and a missing
    URL raise errors naming the source (and line); no output, no temporary file is left."""
    out = tmp_path / "pics_snps.vcf.gz"
    with pytest.raises(DownloadError, match=r"sites\.vcf\.gz\?short: truncated: received \d+ of \d+ bytes"):
        select_vcf_records(vcf_server.url + "/sites.vcf.gz?short", out, SITE_SNPS)
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(bgzip_like(SITES_TEXT)[:-40])
    with pytest.raises(InputError, match=r"cut\.vcf\.gz: truncated gzip data"):
        select_vcf_records(cut, out, SITE_SNPS)
    short = tmp_path / "short.vcf"
    short.write_text("\n".join(SITES_HEADER + SITES_RECORDS[:2] + ["1\t5\trs7"]) + "\n")
    with pytest.raises(InputError, match=r"short\.vcf:6: expected a VCF record with at least 5 .* got 3"):
        select_vcf_records(short, out, SITE_SNPS)
    with pytest.raises(DownloadError, match="HTTP error 404"):
        select_vcf_records(vcf_server.url + "/absent.vcf.gz", out, SITE_SNPS)
    with pytest.raises(DownloadError, match="malformed URL"):
        select_vcf_records(vcf_server.url + "/with space.vcf.gz", out, SITE_SNPS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.vcf.gz", "short.vcf"]


def _pics_table(tmp_path) -> Path:
    pics = tmp_path / "pics.tsv"
    pics.write_text("SNP\tchr\tpos\tPICS_probability\n"
                    + "".join(f"{s}\t{c}\t{p}\t0.5\n" for s, c, p in SITE_SNPS.itertuples(index=False)))
    return pics


def test_select_variants_cli(vcf_server, tmp_path, capsys):
    """``basset select-variants`` streams the PICS SNPs' records out of a sites VCF."""
    out = tmp_path / "cli.vcf.gz"
    assert cli_main(["-q", "select-variants", "--source", vcf_server.url + "/sites.bgz", "--pics",
                     str(_pics_table(tmp_path)), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["records_kept"] == 4
    assert kept_lines(out) == SITES_HEADER + [SITES_RECORDS[i] for i in KEPT]


def test_select_pics_variants_rule(vcf_server, tmp_path):
    """workflow/scripts/select_pics_variants.py runs the stage function with the rule's input, outputs and
    params, and logs to the rule's log."""
    outputs = {"vcf": str(tmp_path / "rule.vcf.gz"), "summary": str(tmp_path / "summary.tsv")}
    run_script("select_pics_variants", input={"pics": str(_pics_table(tmp_path))},
               params={"source": vcf_server.url + "/sites.vcf.gz"}, output=outputs, log=[str(tmp_path / "rule.log")])
    assert "kept 4 of 6 records" in (tmp_path / "rule.log").read_text()
    assert kept_lines(tmp_path / "rule.vcf.gz") == SITES_HEADER + [SITES_RECORDS[i] for i in KEPT]
    summary = pd.read_csv(tmp_path / "summary.tsv", sep="\t").set_index("key")["value"]
    assert summary["records_kept"] == "4" and summary["pics_not_found"] == "1"


def test_score_snps_and_pics_enrichment_rules(tmp_path):
    """The scripts of rules score_snps and pics_enrichment call the stage functions with the rule's inputs,
    outputs and params: the SAD table is score_variants' with the saved model, and Figure 5 is drawn."""
    torch.manual_seed(0)
    cfg = {"seq_len": 24, "conv_filters": [4], "conv_widths": [5], "conv_pools": [4], "conv_dropout": [0.0],
           "dense_units": [8], "dense_dropout": [0.0]}
    save_model(tmp_path / "model.pt", build_model(cfg, 2), ["a", "b"])
    fa, vcf = _genome(tmp_path), _write_vcf(tmp_path / "v.vcf", _vcf_text())
    inputs = {"model": str(tmp_path / "model.pt"), "fasta": str(fa), "fai": []}
    out = {"sad": str(tmp_path / "sad.tsv.gz"), "summary": str(tmp_path / "summary.tsv")}
    variants = {"batch_size": 4, "rc_average": True, "weights": {}, "chunk_size": 3}
    run_script("score_snps", input={**inputs, "vcf": [str(vcf)]}, output=out,
               params={"device": "cpu", "variants": variants}, log=[str(tmp_path / "score.log")])
    model, meta = load_model(tmp_path / "model.pt")
    summary = score_variants(model, fa, vcf, tmp_path / "direct.tsv.gz", meta["target_names"], batch_size=4)
    assert (tmp_path / "sad.tsv.gz").read_bytes() == (tmp_path / "direct.tsv.gz").read_bytes()
    written = pd.read_csv(out["summary"], sep="\t").set_index("key")["value"]
    assert written["scored"] == str(summary["scored"]) == "7"

    pics = tmp_path / "pics.tsv"
    pics.write_text("SNP\tchr\tpos\tPICS_probability\ndestroy\tchr1\t44\t0.9\ncreate\tchr1\t75\t0.8\n"
                    "edge\tchr1\t2\t0.01\n")
    out = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("summary", "tsv"), ("snps", "tsv"), ("fig5a", "png"),
                                                         ("fig5b", "png"))}
    run_script("pics_enrichment", input={**inputs, "sad": str(tmp_path / "sad.tsv.gz"), "pics": [str(pics)]},
               output=out, params={"device": "cpu", "variants": {"plot_window": 20}}, log=[str(tmp_path / "p.log")])
    enrichment_summary = pd.read_csv(out["summary"], sep="\t").set_index("key")["value"]
    assert enrichment_summary["n_high"] == "2" and enrichment_summary["n_low"] == "1"
    assert pd.read_csv(out["snps"], sep="\t")["snp"].tolist() == ["destroy", "create", "edge"]
    assert all((tmp_path / f"{k}.{ext}").stat().st_size for k in ("fig5a", "fig5b") for ext in ("png", "pdf"))
    assert "Figure 5B: " in (tmp_path / "p.log").read_text()


# ------------------------------------------------------------------------------------------ enrichment
def _synthetic(n_high=30, n_low=200, seed=0):
    rng = np.random.default_rng(seed)
    n = n_high + n_low
    pics = np.r_[rng.uniform(0.5, 0.95, n_high), rng.uniform(0.0, 0.05, n_low)]
    scale = np.r_[np.full(n_high, 0.3), np.full(n_low, 0.03)]
    sad = rng.normal(0, 1, (n, 3)) * scale[:, None]
    ids = np.array([f"rs{i}" for i in range(n)], dtype=object)
    ids[::7] = "."  # joined on chrom + pos instead
    table = pd.DataFrame({"chrom": "chr1", "pos": np.arange(n) + 100, "id": ids, "ref": "A", "alt": "C",
                          "swapped": False, "mean_sad": sad.mean(1), "max_abs_sad": np.abs(sad).max(1),
                          "top_target": "t0"})
    table = pd.concat([table, pd.DataFrame(sad, columns=["t0", "t1", "t2"])], axis=1)
    pics_df = pd.DataFrame({"snp": [f"rs{i}" for i in range(n)], "chrom": "chr1", "pos": np.arange(n) + 100,
                            "pics": pics, "disease": "d", "n_diseases": 1})
    return table, pics_df


def test_pics_enrichment_detects_larger_sad_in_high_pics():
    table, pics_df = _synthetic()
    joined = join_pics(table, pics_df)
    assert joined["score"].notna().all() and set(joined["matched_by"]) == {"id", "chrom_pos"}
    res = enrichment(table, pics_df)
    assert res["n_high"] == 30 and res["n_low"] == 200 and res["n_matched"] == 230
    assert res["mannwhitney_p"] < 1e-6 and res["fisher_p"] < 1e-3
    assert res["frac_high"] > res["frac_low"]
    null = enrichment(*_null(table, pics_df))
    assert null["mannwhitney_p"] > 0.01


def _null(table, pics_df):
    rng = np.random.default_rng(1)
    t = table.copy()
    t[["t0", "t1", "t2"]] = rng.normal(0, 0.05, (len(t), 3))
    return t, pics_df


def test_pics_enrichment_on_scored_file_and_empty_groups(scored):
    _, sad, _ = scored
    pics_df = pd.DataFrame({"snp": ["destroy", "create", "edge"], "chrom": "chr1", "pos": [44, 75, 2],
                            "pics": [0.9, 0.8, 0.01], "disease": "d", "n_diseases": 1})
    res = enrichment(sad, pics_df, sad_threshold=0.05, score="mean_abs")
    assert res["n_high"] == 2 and res["n_low"] == 1 and res["frac_high"] == 1.0 and res["frac_low"] == 0.0
    assert res["frac_high_any"] == 1.0 and res["frac_low_any"] == 0.0  # max |SAD| over targets
    default = enrichment(sad, pics_df, sad_threshold=0.05)  # |mean SAD|
    cols = sad_target_columns(sad)
    expected = sad.set_index("id").loc[["destroy", "create"], cols].mean(axis=1).abs()
    assert default["score"] == "abs_mean" and default["mean_high"] == pytest.approx(expected.mean(), rel=1e-6)
    empty = enrichment(sad, pics_df.assign(pics=0.2))
    assert empty["n_high"] == 0 and np.isnan(empty["mannwhitney_p"])
